//! Parameter documentation from ArduPilot's metadata file (`apm.pdef.xml`, which the operator
//! downloads once and points Airlock at — Airlock never fetches it): for each name, its human
//! name, description, units, documented range and increment, named values and bitmask bits.
//! Vehicle entries are named `ArduCopter:NAME`; library entries `NAME`; both are kept by NAME.

use std::collections::HashMap;

/// What the documentation says of one parameter.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ParamDoc {
    pub human_name: String,
    pub description: String,
    pub units: Option<String>,
    pub range: Option<(f64, f64)>,
    pub increment: Option<f64>,
    /// Named values (`0: Disabled`).
    pub values: Vec<(f64, String)>,
    /// Named bits of a bitmask (`0: Roll`).
    pub bits: Vec<(u32, String)>,
    /// Needs a reboot to take effect.
    pub reboot_required: bool,
}

impl ParamDoc {
    /// The name of `value` among the named values, if it has one.
    pub fn value_name(&self, value: f64) -> Option<&str> {
        self.values
            .iter()
            .find(|(code, _)| *code == value)
            .map(|(_, name)| name.as_str())
    }

    /// Words when `value` is outside the documented range.
    pub fn outside_range(&self, value: f64) -> Option<String> {
        let (low, high) = self.range?;
        (!(low..=high).contains(&value)).then(|| {
            format!(
                "outside the documented range {low} to {high}{}",
                self.units
                    .as_deref()
                    .map(|u| format!(" {u}"))
                    .unwrap_or_default()
            )
        })
    }
}

/// The documentation of every parameter in a metadata file, by name.
#[derive(Debug, Clone, Default)]
pub struct ParamDocs {
    pub by_name: HashMap<String, ParamDoc>,
}

impl ParamDocs {
    pub fn get(&self, name: &str) -> Option<&ParamDoc> {
        self.by_name.get(name)
    }

    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// Reads an `apm.pdef.xml`; an error names the line.
    pub fn parse(text: &str) -> Result<Self, String> {
        let document = roxmltree::Document::parse(text).map_err(|error| {
            let at = error.pos();
            format!("line {}, column {}: {error}", at.row, at.col)
        })?;
        let mut by_name = HashMap::new();
        for param in document
            .descendants()
            .filter(|node| node.has_tag_name("param"))
        {
            let Some(full) = param.attribute("name") else {
                continue;
            };
            let name = full.split_once(':').map_or(full, |(_, name)| name);
            let mut doc = ParamDoc {
                human_name: param.attribute("humanName").unwrap_or_default().to_owned(),
                description: param
                    .attribute("documentation")
                    .unwrap_or_default()
                    .to_owned(),
                ..ParamDoc::default()
            };
            for child in param.children().filter(|n| n.is_element()) {
                let text = child.text().unwrap_or_default().trim();
                match (child.tag_name().name(), child.attribute("name")) {
                    ("field", Some("Range")) => {
                        let mut parts = text.split_whitespace().map(str::parse::<f64>);
                        if let (Some(Ok(low)), Some(Ok(high))) = (parts.next(), parts.next()) {
                            doc.range = Some((low, high));
                        }
                    }
                    ("field", Some("Units")) => doc.units = Some(text.to_owned()),
                    ("field", Some("Increment")) => doc.increment = text.parse().ok(),
                    ("field", Some("RebootRequired")) => {
                        doc.reboot_required = text.eq_ignore_ascii_case("true")
                    }
                    ("field", Some("Bitmask")) => {
                        doc.bits = text
                            .split(',')
                            .filter_map(|pair| {
                                let (bit, label) = pair.split_once(':')?;
                                Some((bit.trim().parse().ok()?, label.trim().to_owned()))
                            })
                            .collect();
                    }
                    ("values", _) => {
                        doc.values = child
                            .children()
                            .filter(|n| n.has_tag_name("value"))
                            .filter_map(|value| {
                                let code = value.attribute("code")?.trim().parse().ok()?;
                                Some((code, value.text().unwrap_or_default().trim().to_owned()))
                            })
                            .collect();
                    }
                    _ => {}
                }
            }
            by_name.insert(name.to_owned(), doc);
        }
        if by_name.is_empty() {
            return Err("no parameters documented (is it an apm.pdef.xml?)".to_owned());
        }
        Ok(Self { by_name })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Written for this test in the layout of ArduPilot's `apm.pdef.xml`.
    const SAMPLE: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<paramfile>
  <vehicles>
    <parameters name="ArduCopter">
      <param humanName="Frame Class" name="ArduCopter:FRAME_CLASS" documentation="Controls major frame class." user="Standard">
        <field name="RebootRequired">True</field>
        <values>
          <value code="0">Undefined</value>
          <value code="1">Quad</value>
        </values>
      </param>
      <param humanName="RTL Altitude" name="ArduCopter:RTL_ALT" documentation="The minimum altitude for RTL." user="Standard">
        <field name="Range">30 300000</field>
        <field name="Units">cm</field>
        <field name="Increment">1</field>
      </param>
    </parameters>
  </vehicles>
  <libraries>
    <parameters name="LOG_">
      <param humanName="Log bitmask" name="LOG_BITMASK" documentation="Which messages are logged." user="Standard">
        <field name="Bitmask">0:Fast Attitude,1:Medium Attitude,2:GPS</field>
      </param>
    </parameters>
  </libraries>
</paramfile>"#;

    #[test]
    fn reads_names_ranges_values_and_bits() {
        let docs = ParamDocs::parse(SAMPLE).unwrap();
        assert_eq!(docs.len(), 3);
        let frame = docs.get("FRAME_CLASS").unwrap();
        assert_eq!(frame.value_name(1.0), Some("Quad"));
        assert!(frame.reboot_required);
        let rtl = docs.get("RTL_ALT").unwrap();
        assert_eq!(rtl.range, Some((30.0, 300000.0)));
        assert_eq!(rtl.units.as_deref(), Some("cm"));
        assert!(rtl.outside_range(10.0).unwrap().contains("30 to 300000 cm"));
        assert!(rtl.outside_range(1500.0).is_none());
        assert_eq!(
            docs.get("LOG_BITMASK").unwrap().bits[2],
            (2, "GPS".to_owned())
        );
    }

    #[test]
    fn what_is_not_a_metadata_file_is_an_error() {
        assert!(ParamDocs::parse("<paramfile/>").is_err());
        let error = ParamDocs::parse("<paramfile><param").unwrap_err();
        assert!(error.starts_with("line 1, column"), "{error}");
    }
}
