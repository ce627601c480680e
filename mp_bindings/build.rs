//! Generates the Rust view of MicroPython's C API for the port being built.
//!
//! micropython.mk / micropython.cmake run cargo with HONCH_MPY_CFLAGS set to the port's own
//! include paths and defines, after MicroPython generated its headers (genhdr/), so the
//! bindings (struct layouts, qstr numbers, configuration) match the firmware exactly.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

/// The qstr names the binding uses: the `HONCH_QSTR(name)` lines of `c/honch_usermod.c`.
fn qstr_names(list: &Path) -> Vec<String> {
    let text = fs::read_to_string(list).expect("read c/honch_usermod.c");
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("HONCH_QSTR(")?.strip_suffix(')'))
        .map(str::to_owned)
        .collect()
}

/// The port's flags that matter to the preprocessor (include paths, defines, language
/// standard), split as the shell would and with include paths made absolute.
fn clang_args(cflags: &str, port_dir: &Path) -> Vec<String> {
    let words = shlex::split(cflags).expect("HONCH_MPY_CFLAGS is not valid shell quoting");
    let absolute = |p: &str| port_dir.join(p).to_string_lossy().into_owned();
    let mut args = Vec::new();
    let mut words = words.into_iter();
    while let Some(w) = words.next() {
        match w.as_str() {
            "-I" => args.extend(words.next().map(|d| format!("-I{}", absolute(&d)))),
            "-D" | "-U" | "-include" => {
                if let Some(v) = words.next() {
                    args.push(w.clone());
                    args.push(v);
                }
            }
            _ if w.starts_with("-I") => args.push(format!("-I{}", absolute(&w[2..]))),
            _ if w.starts_with("-D") || w.starts_with("-U") || w.starts_with("-std=") => args.push(w),
            _ => {}
        }
    }
    args
}

fn main() {
    let here = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    println!("cargo:rerun-if-env-changed=HONCH_MPY_CFLAGS");
    println!("cargo:rerun-if-env-changed=HONCH_MPY_PORT_DIR");
    println!("cargo:rerun-if-env-changed=HONCH_MPY_SYSTEM_INCLUDES");
    println!("cargo:rerun-if-changed=wrapper.h");
    println!("cargo:rerun-if-changed=c/honch_usermod.c");

    let Ok(cflags) = env::var("HONCH_MPY_CFLAGS") else {
        panic!(
            "honch-mp-sys is generated from a MicroPython build tree: build it through \
             micropython.mk / micropython.cmake (USER_C_MODULES), which set HONCH_MPY_CFLAGS"
        );
    };
    let port_dir = PathBuf::from(env::var("HONCH_MPY_PORT_DIR").unwrap_or_else(|_| ".".into()));
    let mut args = clang_args(&cflags, &port_dir);
    // The port compiler's C library headers (a cross compiler's newlib or picolibc), searched
    // after clang's own: micropython.mk / micropython.cmake ask the compiler for them.
    if let Ok(dirs) = env::var("HONCH_MPY_SYSTEM_INCLUDES") {
        for dir in dirs.split_whitespace() {
            args.push("-idirafter".into());
            args.push(dir.into());
        }
    }
    // Regenerate when MicroPython regenerates its headers (a new qstr renumbers them all).
    for arg in &args {
        if let Some(dir) = arg.strip_prefix("-I") {
            for header in [
                "genhdr/qstrdefs.generated.h",
                "genhdr/root_pointers.h",
                "mpconfigport.h",
            ] {
                let p = Path::new(dir).join(header);
                if p.exists() {
                    println!("cargo:rerun-if-changed={}", p.display());
                }
            }
        }
    }

    let mut builder = bindgen::Builder::default()
        .header(here.join("wrapper.h").to_string_lossy())
        .clang_args(&args)
        .use_core()
        .ctypes_prefix("cty")
        .layout_tests(false)
        .derive_default(false)
        .generate_comments(false)
        .prepend_enum_name(false)
        .allowlist_item("HONCH_.*")
        .allowlist_type("honch_mp_config")
        .allowlist_function("honch_.*")
        .allowlist_function("gc_(alloc|free|realloc)")
        .allowlist_function("nlr_jump")
        .allowlist_function("qstr_(data|str)")
        .allowlist_function("mp_obj_get_type")
        .allowlist_function("mp_obj_new_(str|bytes|dict|tuple|int_from_uint|int_from_ll)")
        .allowlist_function("mp_obj_dict_store")
        .allowlist_function("mp_get_buffer")
        .allowlist_function("mp_obj_is_callable")
        .allowlist_function("mp_obj_exception_(make_new|print|attr)")
        .allowlist_function("mp_import_name")
        .allowlist_function("mp_load_attr")
        .allowlist_function("mp_call_function_(0|1|n_kw)")
        .allowlist_function("mp_call_method_n_kw")
        .allowlist_function("mp_load_method")
        .allowlist_function("mp_obj_subscr")
        .allowlist_function("mp_obj_is_true")
        .allowlist_function("mp_obj_is_subclass_fast")
        .allowlist_function("mp_obj_exception_get_value")
        .allowlist_function("mp_obj_new_bytearray(_by_ref)?")
        .allowlist_function("mp_print_strn")
        .allowlist_function("mp_store_attr")
        .allowlist_function("mp_load_attr")
        .allowlist_var("mp_plat_print")
        .allowlist_type("mp_obj_(type|base|dict|module|str|int|tuple|list|fun_builtin_var|float)_t")
        .allowlist_type("mp_(map|map_elem|rom_map_elem|buffer_info)_t")
        .allowlist_type("mpz_t")
        .allowlist_var("mp_type_(type|module|dict|str|bytes|bytearray|memoryview|int|bool|list|tuple|NoneType|fun_builtin_var|Exception|KeyboardInterrupt|ImportError|BaseException|TypeError|OSError|ValueError|bytes)");
    for name in qstr_names(&here.join("c/honch_usermod.c")) {
        builder = builder.allowlist_item(format!("MP_QSTR_{name}"));
    }
    let bindings = builder
        .generate()
        .expect("bindgen could not read MicroPython's headers");
    bindings
        .write_to_file(out.join("bindings.rs"))
        .expect("write bindings.rs");
}
