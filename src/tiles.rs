//! Map tiles. First from the operator's own disk: a folder of XYZ tiles (`z/x/y.png`) or an
//! MBTiles file, used in place and read on a background thread so the UI never waits on the
//! disk. Online tiles (an OpenStreetMap-compatible server, cached on disk) are a network
//! feature: they can only be built with a [`NetworkPermit`].

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use crossbeam_channel::{Receiver, Sender};
use walkers::sources::Attribution;

use crate::privacy::NetworkPermit;
use walkers::{Style, Tile, TileId, TilePiece, Tiles};

/// Pixel size of the tiles we serve (the XYZ convention).
const TILE_SIZE: u32 = 256;
/// Decoded tiles kept in memory before the cache is emptied.
const MAX_CACHED: usize = 600;
/// How many zoom levels up a missing tile may be stood in for by a stretched ancestor.
const MAX_ANCESTOR_LEVELS: u8 = 5;

/// Where tiles come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TileSource {
    /// `root/z/x/y.png` (or `.jpg`, `.jpeg`, `.webp`), the slippy-map layout.
    Folder(PathBuf),
    /// An MBTiles (SQLite) file; rows are stored TMS-style (y flipped).
    MbTiles(PathBuf),
}

/// Errors opening a tile source.
#[derive(Debug, thiserror::Error)]
pub enum TileError {
    #[error("{0}: no such file or folder")]
    Missing(PathBuf),
    #[error("{path}: not an MBTiles file: {reason}")]
    BadMbTiles { path: PathBuf, reason: String },
    #[error("cannot start the tile reader: {0}")]
    Thread(#[from] std::io::Error),
}

impl TileSource {
    /// A folder is an XYZ tree; a file is taken as MBTiles.
    pub fn from_path(path: &Path) -> Result<Self, TileError> {
        if path.is_dir() {
            Ok(Self::Folder(path.to_owned()))
        } else if path.is_file() {
            Ok(Self::MbTiles(path.to_owned()))
        } else {
            Err(TileError::Missing(path.to_owned()))
        }
    }
}

/// Reads one tile's bytes; `Ok(None)` when the source has no such tile.
trait TileReader: Send {
    fn read(&mut self, id: TileId) -> Result<Option<Vec<u8>>, String>;
}

struct FolderReader(PathBuf);

impl TileReader for FolderReader {
    fn read(&mut self, id: TileId) -> Result<Option<Vec<u8>>, String> {
        for ext in ["png", "jpg", "jpeg", "webp"] {
            let path = self.0.join(format!("{}/{}/{}.{ext}", id.zoom, id.x, id.y));
            match std::fs::read(&path) {
                Ok(bytes) => return Ok(Some(bytes)),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => return Err(format!("{}: {error}", path.display())),
            }
        }
        Ok(None)
    }
}

struct MbTilesReader(rusqlite::Connection);

impl MbTilesReader {
    fn open(path: &Path) -> Result<Self, TileError> {
        let bad = |reason: String| TileError::BadMbTiles {
            path: path.to_owned(),
            reason,
        };
        let connection = rusqlite::Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|error| bad(error.to_string()))?;
        // Fail now, with a clear message, if the file has no tiles table.
        connection
            .prepare("SELECT tile_data FROM tiles LIMIT 1")
            .map_err(|error| bad(error.to_string()))?;
        Ok(Self(connection))
    }
}

impl TileReader for MbTilesReader {
    fn read(&mut self, id: TileId) -> Result<Option<Vec<u8>>, String> {
        let tms_row = (1u32 << id.zoom) - 1 - id.y;
        let mut statement = self
            .0
            .prepare_cached(
                "SELECT tile_data FROM tiles WHERE zoom_level = ?1 AND tile_column = ?2 AND tile_row = ?3",
            )
            .map_err(|error| error.to_string())?;
        let mut rows = statement
            .query((id.zoom, id.x, tms_row))
            .map_err(|error| error.to_string())?;
        match rows.next().map_err(|error| error.to_string())? {
            Some(row) => row.get(0).map(Some).map_err(|error| error.to_string()),
            None => Ok(None),
        }
    }
}

/// The default online source: OpenStreetMap's standard tiles.
pub const OSM_URL: &str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png";

/// An OpenStreetMap-compatible tile server, from a URL template with `{z}`, `{x}`, `{y}`.
pub struct OnlineSource {
    pub url_template: String,
}

impl walkers::sources::TileSource for OnlineSource {
    fn tile_url(&self, id: TileId) -> String {
        self.url_template
            .replace("{z}", &id.zoom.to_string())
            .replace("{x}", &id.x.to_string())
            .replace("{y}", &id.y.to_string())
    }

    fn attribution(&self) -> Attribution {
        Attribution {
            text: "© OpenStreetMap contributors",
            url: "https://www.openstreetmap.org/copyright",
            logo_light: None,
            logo_dark: None,
        }
    }
}

/// Online tiles with an on-disk cache in `cache_dir`. The permit proves privacy is off.
pub fn online_tiles(
    url_template: &str,
    cache_dir: PathBuf,
    ctx: &egui::Context,
    _permit: &NetworkPermit,
) -> walkers::HttpTiles {
    // reqwest is built without a TLS crypto provider; install ring's (once per process).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let options = walkers::HttpOptions {
        cache: Some(cache_dir),
        user_agent: Some(walkers::HeaderValue::from_static(concat!(
            "airlock/",
            env!("CARGO_PKG_VERSION")
        ))),
        ..walkers::HttpOptions::default()
    };
    walkers::HttpTiles::with_options(
        OnlineSource {
            url_template: url_template.to_owned(),
        },
        options,
        ctx.clone(),
    )
}

type Loaded = (TileId, Result<Option<Tile>, String>);

/// Tiles read from a local source, for the `walkers` map widget.
pub struct LocalTiles {
    requests: Sender<TileId>,
    results: Receiver<Loaded>,
    cache: HashMap<TileId, Option<Tile>>,
    pending: HashSet<TileId>,
    /// The last error reading a tile, for the UI to show.
    pub last_error: Option<String>,
}

impl LocalTiles {
    /// Opens `source` and starts its reader thread.
    pub fn open(source: &TileSource, ctx: &egui::Context) -> Result<Self, TileError> {
        let mut reader: Box<dyn TileReader> = match source {
            TileSource::Folder(root) => Box::new(FolderReader(root.clone())),
            TileSource::MbTiles(path) => Box::new(MbTilesReader::open(path)?),
        };
        let (requests, request_rx) = crossbeam_channel::unbounded::<TileId>();
        let (result_tx, results) = crossbeam_channel::unbounded();
        let ctx = ctx.clone();
        std::thread::Builder::new()
            .name("airlock-tiles".into())
            .spawn(move || {
                // A unit struct unless walkers' vector feature is on: keep the general form.
                #[allow(clippy::default_constructed_unit_structs)]
                let style = Style::default();
                for id in request_rx {
                    let loaded = reader.read(id).and_then(|bytes| {
                        bytes
                            .map(|bytes| {
                                Tile::new(&bytes, &style, id.zoom, TILE_SIZE, &ctx).map_err(
                                    |error| format!("tile {}/{}/{}: {error}", id.zoom, id.x, id.y),
                                )
                            })
                            .transpose()
                    });
                    if result_tx.send((id, loaded)).is_err() {
                        return;
                    }
                    ctx.request_repaint();
                }
            })?;
        Ok(Self {
            requests,
            results,
            cache: HashMap::new(),
            pending: HashSet::new(),
            last_error: None,
        })
    }

    fn receive(&mut self) {
        while let Ok((id, loaded)) = self.results.try_recv() {
            self.pending.remove(&id);
            if self.cache.len() >= MAX_CACHED {
                self.cache.clear();
            }
            match loaded {
                Ok(tile) => {
                    self.cache.insert(id, tile);
                }
                Err(error) => {
                    self.cache.insert(id, None);
                    self.last_error = Some(error);
                }
            }
        }
    }

    fn cached(&mut self, id: TileId) -> Option<Option<Tile>> {
        match self.cache.get(&id) {
            Some(tile) => Some(tile.clone()),
            None => {
                if self.pending.insert(id) {
                    let _ = self.requests.send(id);
                }
                None
            }
        }
    }
}

/// The part of `ancestor` (levels up) that covers `id`, in UV coordinates.
fn ancestor_uv(id: TileId, levels: u8) -> (TileId, egui::Rect) {
    let scale = 1u32 << levels;
    let ancestor = TileId {
        x: id.x / scale,
        y: id.y / scale,
        zoom: id.zoom - levels,
    };
    let size = 1.0 / scale as f32;
    let min = egui::pos2((id.x % scale) as f32 * size, (id.y % scale) as f32 * size);
    (
        ancestor,
        egui::Rect::from_min_size(min, egui::vec2(size, size)),
    )
}

impl Tiles for LocalTiles {
    fn at(&mut self, id: TileId) -> Option<TilePiece> {
        self.receive();
        let full = egui::Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0));
        if let Some(Some(tile)) = self.cached(id) {
            return Some(TilePiece::new(tile, full));
        }
        // Meanwhile (or where the source stops), stretch an ancestor that is already loaded.
        for levels in 1..=MAX_ANCESTOR_LEVELS.min(id.zoom) {
            let (ancestor, uv) = ancestor_uv(id, levels);
            if let Some(Some(tile)) = self.cache.get(&ancestor) {
                return Some(TilePiece::new(tile.clone(), uv));
            }
        }
        None
    }

    fn attribution(&self) -> Attribution {
        Attribution {
            text: "Local tiles",
            url: "",
            logo_light: None,
            logo_dark: None,
        }
    }

    fn tile_size(&self) -> u32 {
        TILE_SIZE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(shade: u8) -> Vec<u8> {
        let image = image::RgbaImage::from_pixel(256, 256, image::Rgba([shade, 100, 50, 255]));
        let mut bytes = Vec::new();
        image
            .write_to(
                &mut std::io::Cursor::new(&mut bytes),
                image::ImageFormat::Png,
            )
            .unwrap();
        bytes
    }

    fn wait_for_tile(tiles: &mut LocalTiles, id: TileId) -> Option<TilePiece> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while std::time::Instant::now() < deadline {
            if let Some(piece) = tiles.at(id) {
                return Some(piece);
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        None
    }

    #[test]
    fn reads_a_folder_of_xyz_tiles_and_stands_in_ancestors() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("3/5")).unwrap();
        std::fs::write(dir.path().join("3/5/2.png"), png(10)).unwrap();
        let ctx = egui::Context::default();
        let source = TileSource::from_path(dir.path()).unwrap();
        let mut tiles = LocalTiles::open(&source, &ctx).unwrap();
        let id = TileId {
            x: 5,
            y: 2,
            zoom: 3,
        };
        let piece = wait_for_tile(&mut tiles, id).expect("tile loads");
        assert_eq!(piece.uv.max, egui::pos2(1.0, 1.0));
        // A child tile that does not exist is drawn from its parent's quarter.
        let child = TileId {
            x: 11,
            y: 4,
            zoom: 4,
        };
        let stand_in = wait_for_tile(&mut tiles, child).expect("ancestor stands in");
        assert_eq!(stand_in.uv.width(), 0.5);
        assert!(tiles.last_error.is_none());
    }

    #[test]
    fn reads_mbtiles_with_flipped_rows_and_refuses_other_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("area.mbtiles");
        let db = rusqlite::Connection::open(&path).unwrap();
        db.execute_batch(
            "CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB);",
        )
        .unwrap();
        // XYZ (z 2, x 1, y 0) is TMS row 3.
        db.execute("INSERT INTO tiles VALUES (2, 1, 3, ?1)", [png(200)])
            .unwrap();
        drop(db);
        let ctx = egui::Context::default();
        let mut tiles = LocalTiles::open(&TileSource::from_path(&path).unwrap(), &ctx).unwrap();
        assert!(wait_for_tile(
            &mut tiles,
            TileId {
                x: 1,
                y: 0,
                zoom: 2
            }
        )
        .is_some());
        let text = dir.path().join("notes.txt");
        std::fs::write(&text, "not a database").unwrap();
        let error = LocalTiles::open(&TileSource::from_path(&text).unwrap(), &ctx)
            .err()
            .expect("refused");
        assert!(error.to_string().contains("not an MBTiles file"), "{error}");
        assert!(TileSource::from_path(&dir.path().join("missing")).is_err());
    }

    #[test]
    fn ancestors_cover_the_right_quarter() {
        let (ancestor, uv) = ancestor_uv(
            TileId {
                x: 5,
                y: 2,
                zoom: 3,
            },
            1,
        );
        assert_eq!(
            ancestor,
            TileId {
                x: 2,
                y: 1,
                zoom: 2
            }
        );
        assert_eq!(uv.min, egui::pos2(0.5, 0.0));
        assert_eq!(uv.width(), 0.5);
    }
}
