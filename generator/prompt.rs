//! Interactive questions for the answers flags did not give (only in a terminal).

use dialoguer::theme::ColorfulTheme;
use dialoguer::{Input, MultiSelect, Select};

use crate::answers::{Arch, Iac, PartialAnswers, ProjectName, Strategy};
use crate::catalog;
use crate::error::{Error, Result};

/// Asks for each missing answer in turn and returns the completed set. Region comes before
/// model so that only models offered in the region are listed.
pub fn ask(mut partial: PartialAnswers) -> Result<PartialAnswers> {
    let theme = ColorfulTheme::default();
    if partial.name.is_none() {
        let name: String = Input::with_theme(&theme)
            .with_prompt("Project name")
            .default("my-genai-app".into())
            .validate_with(|s: &String| {
                ProjectName::parse(s).map(|_| ()).map_err(|e| e.to_string())
            })
            .interact_text()
            .map_err(prompt_error)?;
        partial.name = Some(name);
    }
    if partial.strategies.is_none() {
        let all = Strategy::all()?;
        let items: Vec<&str> = all.iter().map(|s| s.describe()).collect();
        let chosen = loop {
            let picked = MultiSelect::with_theme(&theme)
                .with_prompt("Strategies (space toggles, enter confirms)")
                .items(&items)
                .defaults(&vec![true; all.len()])
                .interact()
                .map_err(prompt_error)?;
            if !picked.is_empty() {
                break picked;
            }
            eprintln!("Choose at least one strategy.");
        };
        partial.strategies = Some(chosen.into_iter().map(|i| all[i]).collect());
    }
    if partial.iac.is_none() {
        let idx = Select::with_theme(&theme)
            .with_prompt("Infrastructure as code")
            .items(&Iac::ALL.map(|i| format!("{}: {}", i.key(), i.describe())))
            .default(0)
            .interact()
            .map_err(prompt_error)?;
        partial.iac = Some(Iac::ALL[idx]);
    }
    if partial.region.is_none() {
        let region: String = Input::with_theme(&theme)
            .with_prompt("AWS region")
            .default(catalog::DEFAULT_REGION.into())
            .validate_with(|s: &String| catalog::validate_region(s).map_err(|e| e.to_string()))
            .interact_text()
            .map_err(prompt_error)?;
        partial.region = Some(region);
    }
    if partial.model.is_none() {
        partial.model = Some(ask_model(
            &theme,
            partial.region.as_deref().unwrap_or_default(),
        )?);
    }
    if partial.arch.is_none() {
        let idx = Select::with_theme(&theme)
            .with_prompt("Lambda architecture")
            .items(&Arch::ALL.map(|a| format!("{} ({})", a.key(), a.describe())))
            .default(0)
            .interact()
            .map_err(prompt_error)?;
        partial.arch = Some(Arch::ALL[idx]);
    }
    Ok(partial)
}

fn ask_model(theme: &ColorfulTheme, region: &str) -> Result<String> {
    let today = catalog::today();
    let offered: Vec<(&catalog::Model, String)> = catalog::MODELS
        .iter()
        .filter(|m| !m.is_retired(&today))
        .filter_map(|m| m.invocation_id(region).ok().map(|id| (m, id)))
        .collect();
    let mut items: Vec<String> = offered
        .iter()
        .map(|(m, id)| format!("{} ({id}): {}", m.name, m.note))
        .collect();
    items.push("Custom model id or ARN...".into());
    let default = offered
        .iter()
        .position(|(m, _)| m.key == catalog::DEFAULT_MODEL)
        .unwrap_or(0);
    let idx = Select::with_theme(theme)
        .with_prompt(format!("Model (offered in {region})"))
        .items(&items)
        .default(default)
        .interact()
        .map_err(prompt_error)?;
    if let Some((model, _)) = offered.get(idx) {
        return Ok(model.key.to_string());
    }
    Input::with_theme(theme)
        .with_prompt("Bedrock model id or ARN")
        .validate_with(|s: &String| catalog::validate_custom_model(s).map_err(|e| e.to_string()))
        .interact_text()
        .map_err(prompt_error)
}

fn prompt_error(e: dialoguer::Error) -> Error {
    Error::usage(format!(
        "the prompt was interrupted ({e}); nothing was written."
    ))
}
