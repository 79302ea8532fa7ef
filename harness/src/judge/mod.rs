//! Judge: the two questions a trial asks of what a host did, each in a
//! module of its own — does it conform to what the spec allows (the case's
//! [`crate::case::expectation`]), and did it change since its [`records`]?
//! [`verdict`] answers both; [`bless`] writes the records.

pub mod bless;
pub mod records;
pub mod verdict;
