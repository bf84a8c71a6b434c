//! Shared domain types: identifiers, sources, schema snapshots, query drafts and normalized results.
//!
//! One module per concern, each re-exported here, so every type is `types::Name`.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

mod diag;
mod drafts;
mod profile;
mod results;
mod schema;
mod settings;
mod sources;

pub use diag::*;
pub use drafts::*;
pub use profile::*;
pub use results::*;
pub use schema::*;
pub use settings::*;
pub use sources::*;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
        pub struct $name(pub u64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// A registered source.
    SourceId
);
id_type!(
    /// A query draft awaiting approval or denial.
    DraftId
);
id_type!(
    /// One execution of an approved draft.
    RunId
);
id_type!(
    /// A chat session.
    SessionId
);
