//! Integrity fixture: a constructor in `.preinit_array`, placed through `cfg_attr` so that
//! the attribute's name is not written next to `#[`.
//! kata: race
//! expect: refused
//! why: `#[link_section]` is not allowed

extern "C" fn constructor() {
    crate::attack_kit::forge_and_exit(&[])
}

#[used]
#[cfg_attr(all(), link_section = ".preinit_array")]
static CONSTRUCTOR: extern "C" fn() = constructor;
