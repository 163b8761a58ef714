//! The embedded presets: named starting points a spec builds on (`spec.preset` or `--preset`).

/// A built-in preset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preset {
    /// Name used in `spec.preset` and `--preset`.
    pub name: &'static str,
    /// One-line summary.
    pub summary: &'static str,
    /// The preset's YAML layer, as shipped in `presets/`.
    pub text: &'static str,
    /// What `text` reads as, as JSON (`presets/<name>.json`), written out ahead of time so
    /// that a render does not run the YAML reader over a text that never changes;
    /// `tests::every_preset_json_is_its_yaml` holds the two equal.
    values: &'static str,
}

/// The preset used when neither the spec nor the command line names one.
pub const DEFAULT_PRESET: &str = "seed";

/// How many presets there are.
pub(crate) const COUNT: usize = PRESETS.len();

const PRESETS: [Preset; 4] = [
    Preset {
        name: "seed",
        summary: "the TDengine doc's 3-dnode cluster, made correct and adoption-compatible (default)",
        text: include_str!("../presets/seed.yaml"),
        values: include_str!("../presets/seed.json"),
    },
    Preset {
        name: "dev",
        summary: "1 dnode, 1 mnode, 4Gi volume: for laptops and CI clusters; no fault tolerance",
        text: include_str!("../presets/dev.yaml"),
        values: include_str!("../presets/dev.json"),
    },
    Preset {
        name: "ha",
        summary: "3 dnodes, 3 mnodes, Parallel pod management: survives one dnode failure",
        text: include_str!("../presets/ha.yaml"),
        values: include_str!("../presets/ha.json"),
    },
    Preset {
        name: "production",
        summary: "3 dnodes/3 mnodes, Guaranteed QoS, one dnode per node, PDB, NetworkPolicy, password Secret",
        text: include_str!("../presets/production.yaml"),
        values: include_str!("../presets/production.json"),
    },
];

impl Preset {
    /// Every built-in preset, default first.
    pub fn all() -> &'static [Preset] {
        &PRESETS
    }

    /// The preset with this name.
    pub fn find(name: &str) -> Option<Preset> {
        PRESETS.iter().copied().find(|p| p.name == name)
    }

    /// The preset's values as JSON (the same as reading [`Preset::text`]).
    pub(crate) fn values(&self) -> &'static str {
        self.values
    }

    /// Names of all presets, for messages.
    pub fn names() -> Vec<&'static str> {
        PRESETS.iter().map(|p| p.name).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The JSON shipped for each preset is exactly what its YAML reads as. After changing a
    /// preset, `UPDATE_PRESETS=1 cargo test --lib preset` writes the JSON anew.
    #[test]
    fn every_preset_json_is_its_yaml() {
        let update = std::env::var_os("UPDATE_PRESETS").is_some();
        for preset in &PRESETS {
            let spec: crate::spec::Spec = crate::yaml::from_str(preset.text).expect("presets are valid");
            let value = serde_json::to_value(&spec).expect("a spec is JSON");
            let expected = format!("{}\n", serde_json::to_string_pretty(&value).expect("JSON"));
            if update {
                let path = format!("{}/presets/{}.json", env!("CARGO_MANIFEST_DIR"), preset.name);
                std::fs::write(&path, &expected).expect("write the preset's JSON");
            } else {
                assert_eq!(
                    preset.values, expected,
                    "presets/{}.json is out of date: run `UPDATE_PRESETS=1 cargo test --lib preset`",
                    preset.name
                );
            }
        }
    }
}
