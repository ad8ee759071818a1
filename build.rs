//! include_dir! embeds `template/` at compile time, but Cargo does not know the macro read
//! those files; this tells it to rebuild when anything under `template/` changes.

fn main() {
    println!("cargo:rerun-if-changed=template");
}
