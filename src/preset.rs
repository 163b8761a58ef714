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
    },
    Preset {
        name: "dev",
        summary: "1 dnode, 1 mnode, 4Gi volume: for laptops and CI clusters; no fault tolerance",
        text: include_str!("../presets/dev.yaml"),
    },
    Preset {
        name: "ha",
        summary: "3 dnodes, 3 mnodes, Parallel pod management: survives one dnode failure",
        text: include_str!("../presets/ha.yaml"),
    },
    Preset {
        name: "production",
        summary: "3 dnodes/3 mnodes, Guaranteed QoS, one dnode per node, PDB, NetworkPolicy, password Secret",
        text: include_str!("../presets/production.yaml"),
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

    /// Names of all presets, for messages.
    pub fn names() -> Vec<&'static str> {
        PRESETS.iter().map(|p| p.name).collect()
    }
}
