//! The broker library's integration tests: properties of its pure parts that need many generated inputs.

mod guard_fuzz;
