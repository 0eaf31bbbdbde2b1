//! string commands (being written).

use super::Handler;

/// This family's commands.
pub(super) const COMMANDS: &[(&str, Handler)] = &[];
