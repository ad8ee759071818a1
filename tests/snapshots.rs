//! Insta snapshots: the file list of every combination, and every byte of the all-strategies
//! CDK and SAM projects, so any change to what users get shows up in review.

mod common;

use genai_scaffold::answers::{Iac, PartialAnswers, Strategy};
use genai_scaffold::template::RenderedFile;

fn render(strategies: &str, iac: &str) -> Vec<RenderedFile> {
    let strategies = strategies
        .split(',')
        .map(|s| <Strategy as clap::ValueEnum>::from_str(s, false).unwrap())
        .collect();
    let iac = <Iac as clap::ValueEnum>::from_str(iac, false).unwrap();
    let answers = PartialAnswers {
        name: Some("snap-app".into()),
        strategies: Some(strategies),
        iac: Some(iac),
        ..PartialAnswers::defaults()
    }
    .resolve(genai_scaffold::catalog::REVIEWED)
    .unwrap();
    genai_scaffold::render(&answers).unwrap()
}

#[test]
fn file_list_of_every_combination() {
    for (strategies, iac) in common::combinations() {
        let listing: String = render(&strategies, iac)
            .iter()
            .map(|f| {
                let mode = if f.executable { "x" } else { "-" };
                format!("{mode} {}\n", f.path.display())
            })
            .collect();
        let name = format!("files-{}-{iac}", strategies.replace(',', "-"));
        insta::assert_snapshot!(name, listing);
    }
}

#[test]
fn full_contents_of_the_all_strategies_projects() {
    for iac in ["cdk", "sam"] {
        let mut all = String::new();
        for f in render("websocket,sse,rest", iac) {
            // Lock files are copied verbatim and pinned by their own review; list their size.
            if f.path.ends_with("Cargo.lock") || f.path.ends_with("package-lock.json") {
                all.push_str(&format!(
                    "=== {} ({} bytes, verbatim)\n",
                    f.path.display(),
                    f.contents.len()
                ));
                continue;
            }
            all.push_str(&format!("=== {}\n", f.path.display()));
            all.push_str(&String::from_utf8_lossy(&f.contents));
        }
        insta::assert_snapshot!(format!("contents-all-{iac}"), all);
    }
}
