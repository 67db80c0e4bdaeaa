//! Test plugin `sloppy`: the plugin template with two privacy bugs the test
//! kit must catch (see build.rs, which makes it from the template).

include!(concat!(env!("OUT_DIR"), "/sloppy.rs"));
