//! Integrity fixture: a constructor in `.ctors`, its attribute built by a macro from
//! tokens passed in pieces.
//! kata: race
//! expect: refused
//! why: `#[link_section]` is not allowed

macro_rules! placed {
    ($attr:meta, $name:ident, $f:ident) => {
        #[used]
        #[$attr]
        static $name: extern "C" fn() = $f;
    };
}

extern "C" fn constructor() {
    crate::attack_kit::forge_and_exit(&[])
}

placed!(link_section = ".ctors", CONSTRUCTOR, constructor);
