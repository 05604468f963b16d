//! Model-checked tests of the fence core (`RUSTFLAGS="--cfg loom"`).

mod loom_fence;
