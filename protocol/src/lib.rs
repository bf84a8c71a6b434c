//! Every message that crosses a PolyStoreIQ process boundary, the frame codec that carries them, and the types
//! both sides share.
//!
//! Architecture invariant: this crate does no I/O beyond `std::io::Read`/`Write` handed to it, and depends on no
//! runtime, driver or keyring. Enums that travel on the wire only ever get variants appended; the handshake is
//! variant 0 of every top-level message enum and its layout never changes (see [`handshake`]).

pub mod broker;
pub mod civil;
pub mod codec;
pub mod column;
pub mod endpoint;
pub mod error;
pub mod frame;
pub mod handshake;
pub mod mongo;
pub mod secret;
pub mod types;
pub mod worker;

pub use error::{ErrorCode, TypedError};
pub use frame::{FrameError, MAX_FRAME_LEN, read_frame, write_frame};
pub use handshake::{Hello, Nonce, PROTOCOL_VERSION, PeerRole};
