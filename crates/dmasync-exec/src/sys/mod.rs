//! The system-call layer: every `unsafe` block of the crate lives here,
//! each with the invariant it relies on.
#![allow(unsafe_code)]

pub mod dgram;
pub mod files;
pub mod filter;
pub mod inject;
pub mod mem;
pub mod scm;
pub mod seccomp;
pub mod session;
pub mod signals;
pub mod spawn;
