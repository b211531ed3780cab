//! `fuzz TARGET`: one fuzz target under AFL++ (built with `cargo afl build`);
//! `fuzz seeds DIR`: writes every target's real seed inputs to `DIR/TARGET/`;
//! `fuzz replay TARGET FILE...`: runs inputs through a target (to check a finding).

#[path = "targets.rs"]
mod targets;

#[global_allocator]
static ALLOCATOR: targets::Bounded = targets::Bounded;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["seeds", dir] => {
            for (name, _) in targets::TARGETS {
                let to = std::path::Path::new(dir).join(name);
                if let Err(error) = std::fs::create_dir_all(&to) {
                    eprintln!("{}: {error}", to.display());
                    std::process::exit(1);
                }
                for (n, seed) in targets::seeds(root, name).iter().enumerate() {
                    if let Err(error) = std::fs::write(to.join(format!("seed-{n}")), seed) {
                        eprintln!("{}: {error}", to.display());
                        std::process::exit(1);
                    }
                }
            }
        }
        ["replay", name, files @ ..] => {
            let Some(target) = targets::target(name) else {
                eprintln!("no target {name}");
                std::process::exit(2);
            };
            for file in files {
                match std::fs::read(file) {
                    Ok(bytes) => target(&bytes),
                    Err(error) => eprintln!("{file}: {error}"),
                }
                println!("{file}: ok");
            }
        }
        [name] => {
            let Some(target) = targets::target(name) else {
                eprintln!("no target {name}");
                std::process::exit(2);
            };
            afl::fuzz!(|data: &[u8]| target(data));
        }
        _ => {
            let names: Vec<&str> = targets::TARGETS.iter().map(|(n, _)| *n).collect();
            eprintln!("usage: fuzz TARGET | seeds DIR | replay TARGET FILE...\ntargets: {}", names.join(" "));
            std::process::exit(2);
        }
    }
}
