//! What every handler shares: the simulated world, and the key callers must present.

use crate::world::World;

pub struct AppState {
    pub world: World,
    /// The bearer key callers must present, like a Dodo API key.
    pub api_key: String,
}
