//! The built-in scenarios, embedded in the binary.

use crate::scenario::{Scenario, ScenarioError};

/// A built-in scenario.
#[derive(Debug, Clone, Copy)]
pub struct Builtin {
    /// Its name, as `dmasync run NAME` takes it.
    pub name: &'static str,
    /// Its TOML text.
    pub source: &'static str,
}

macro_rules! builtin {
    ($name:literal) => {
        Builtin {
            name: $name,
            source: include_str!(concat!("../scenarios/", $name, ".toml")),
        }
    };
}

/// Every built-in scenario; the first is the default.
pub const BUILTINS: &[Builtin] = &[
    builtin!("wsi"),
    builtin!("camera-encoder"),
    builtin!("memory-pressure"),
    builtin!("leak-move-fence"),
    builtin!("dropped-write-fence"),
    builtin!("dynamic-no-wait"),
    builtin!("missing-bridge"),
    builtin!("unbracketed-cpu"),
    builtin!("wait-in-signalling"),
    builtin!("never-signals"),
    builtin!("seqno-backwards"),
    builtin!("error-after-signal"),
    builtin!("pipeline"),
];

/// The scenario `dmasync run` runs with no argument.
pub const DEFAULT: &str = "wsi";

/// The built-in scenario called `name`.
pub fn find(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.name == name)
}

impl Builtin {
    /// Parses it (file name `builtin:NAME` in errors).
    ///
    /// # Errors
    /// A [`ScenarioError`] if the embedded text is wrong (a bug, tested).
    pub fn load(&self) -> Result<Scenario, ScenarioError> {
        Scenario::parse(self.source, &format!("builtin:{}", self.name), self.name)
    }
}
