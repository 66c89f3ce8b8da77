//! Integrity fixture: `#[link]` of a file of the submission's own, verbatim and not
//! bundled: the linker reads it as an object, an archive or a linker script (which can
//! add an `.init_array` entry), all without `unsafe`.
//! kata: race
//! expect: refused
//! why: `#[link(…)]` is not allowed

#[link(name = "../../katas/race/src/attack.rs", kind = "static", modifiers = "+verbatim,-bundle")]
extern "C" {}

macro_rules! linked {
    ($($attr:tt)*) => {
        #[$($attr)*]
        extern "C" {}
    };
}

linked!(link(name = "attack", kind = "dylib"));
