//! The catalog of Bedrock text models a project can use, and how a model and a region turn
//! into the id the services invoke.
//!
//! Every model here supports ConverseStream and is Active (not Legacy) in Bedrock's model
//! lifecycle as of [`REVIEWED`]. Newer Bedrock models are invoked through cross-Region
//! inference profiles: the id is the model id with a geography prefix (`us.`, `eu.`,
//! `apac.`, `jp.`, `au.`) chosen by the region the request is sent from, or `global.` where no
//! geography covers it. The source regions below are the ones Bedrock lists for each profile.

use std::fmt::Write as _;

use regex::Regex;

use crate::error::{Error, Result};

/// The day this catalog was last checked against Bedrock's model cards (ISO date).
pub const REVIEWED: &str = "2026-11-25";

/// The model a project gets when the user does not choose: the lowest-cost current text model.
pub const DEFAULT_MODEL: &str = "nova-micro";

/// The region a project gets when the user does not choose.
pub const DEFAULT_REGION: &str = "us-east-1";

/// A cross-Region inference profile of one geography.
#[derive(Debug)]
pub struct Profile {
    /// The id prefix, without the dot: `us`, `eu`, `apac`, `jp`, `au`.
    pub prefix: &'static str,
    /// Regions a request may be sent from to use this profile.
    pub source_regions: &'static [&'static str],
}

/// One model of the catalog.
#[derive(Debug)]
pub struct Model {
    /// The short name users type: `--model nova-micro`.
    pub key: &'static str,
    /// Human name, as in the Bedrock console.
    pub name: &'static str,
    /// The foundation model id, without any profile prefix.
    pub model_id: &'static str,
    /// Geography profiles, most specific first (a region in two of them takes the first).
    pub profiles: &'static [Profile],
    /// Whether a `global.` profile exists (usable from every commercial region).
    pub global: bool,
    /// Bedrock's announced end-of-life date (ISO), if any. Models past it are refused.
    pub end_of_life: Option<&'static str>,
    /// One line for `genai-scaffold list`.
    pub note: &'static str,
}

const US_3: &[&str] = &["us-east-1", "us-east-2", "us-west-2"];
const US_4: &[&str] = &["us-east-1", "us-east-2", "us-west-1", "us-west-2"];
const EU_NOVA: &[&str] = &[
    "eu-central-1",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-3",
];
const EU_CLAUDE: &[&str] = &[
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
];
const APAC_NOVA: &[&str] = &[
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-south-1",
    "ap-southeast-1",
    "ap-southeast-2",
];
const JP: &[&str] = &["ap-northeast-1", "ap-northeast-3"];
const AU: &[&str] = &["ap-southeast-2", "ap-southeast-4"];

/// The catalog, cheapest first within each provider.
pub const MODELS: &[Model] = &[
    Model {
        key: "nova-micro",
        name: "Amazon Nova Micro",
        model_id: "amazon.nova-micro-v1:0",
        profiles: &[
            Profile {
                prefix: "us",
                source_regions: US_3,
            },
            Profile {
                prefix: "eu",
                source_regions: EU_NOVA,
            },
            Profile {
                prefix: "apac",
                source_regions: APAC_NOVA,
            },
        ],
        global: false,
        end_of_life: None,
        note: "text only, lowest cost and latency; the default",
    },
    Model {
        key: "nova-lite",
        name: "Amazon Nova Lite",
        model_id: "amazon.nova-lite-v1:0",
        profiles: &[
            Profile {
                prefix: "us",
                source_regions: US_3,
            },
            Profile {
                prefix: "eu",
                source_regions: EU_NOVA,
            },
            Profile {
                prefix: "apac",
                source_regions: APAC_NOVA,
            },
        ],
        global: false,
        end_of_life: None,
        note: "low cost, multimodal input",
    },
    Model {
        key: "nova-pro",
        name: "Amazon Nova Pro",
        model_id: "amazon.nova-pro-v1:0",
        profiles: &[
            Profile {
                prefix: "us",
                source_regions: US_3,
            },
            Profile {
                prefix: "eu",
                source_regions: EU_NOVA,
            },
            Profile {
                prefix: "apac",
                source_regions: APAC_NOVA,
            },
        ],
        global: false,
        end_of_life: None,
        note: "higher accuracy Nova model",
    },
    Model {
        key: "nova-2-lite",
        name: "Amazon Nova 2 Lite",
        model_id: "amazon.nova-2-lite-v1:0",
        profiles: &[Profile {
            prefix: "us",
            source_regions: US_3,
        }],
        global: true,
        end_of_life: None,
        note: "second-generation Nova, reasoning; global profile outside the US",
    },
    Model {
        key: "claude-haiku-4.5",
        name: "Anthropic Claude Haiku 4.5",
        model_id: "anthropic.claude-haiku-4-5-20251001-v1:0",
        profiles: &[
            Profile {
                prefix: "us",
                source_regions: US_4,
            },
            Profile {
                prefix: "eu",
                source_regions: EU_CLAUDE,
            },
            Profile {
                prefix: "jp",
                source_regions: JP,
            },
            Profile {
                prefix: "au",
                source_regions: AU,
            },
        ],
        global: true,
        end_of_life: None,
        note: "fast Claude model; enable Anthropic access in the Bedrock console first",
    },
];

/// Looks a model up by its key.
pub fn find(key: &str) -> Option<&'static Model> {
    MODELS.iter().find(|m| m.key == key)
}

impl Model {
    /// The id to invoke from `region`: a geography profile that covers the region, else the
    /// global profile, else an error that lists where the model is offered.
    pub fn invocation_id(&self, region: &str) -> Result<String> {
        if let Some(profile) = self
            .profiles
            .iter()
            .find(|p| p.source_regions.contains(&region))
        {
            return Ok(format!("{}.{}", profile.prefix, self.model_id));
        }
        if self.global && is_commercial(region) {
            return Ok(format!("global.{}", self.model_id));
        }
        Err(Error::usage(format!(
            "model '{}' ({}) is not offered in region {region}.\n\
             It is offered in: {}.\n\
             Choose one of those regions with --region, or another model (see `genai-scaffold list`).",
            self.key,
            self.name,
            self.offered_regions().join(", ")
        )))
    }

    /// The regions Bedrock may route a request from `region` to: the source regions of the
    /// geography profile that covers it, else `region` alone (a `global.` profile routes
    /// anywhere; its IAM grant uses the region-less foundation-model ARN besides this one).
    pub fn destination_regions<'a>(&self, region: &'a str) -> Vec<&'a str> {
        match self
            .profiles
            .iter()
            .find(|p| p.source_regions.contains(&region))
        {
            Some(profile) => profile.source_regions.to_vec(),
            None => vec![region],
        }
    }

    /// Every region the model can be invoked from, in catalog order.
    pub fn offered_regions(&self) -> Vec<&'static str> {
        let mut regions: Vec<&'static str> = Vec::new();
        for region in self.profiles.iter().flat_map(|p| p.source_regions) {
            if !regions.contains(region) {
                regions.push(region);
            }
        }
        if self.global {
            regions.push("any commercial region (global profile)");
        }
        regions
    }

    /// Whether the model is past its end of life on `today` (ISO date).
    pub fn is_retired(&self, today: &str) -> bool {
        self.end_of_life.is_some_and(|eol| eol <= today)
    }
}

/// Checks the shape of an AWS region name (`us-east-1`, `eu-central-2`, `us-gov-west-1`).
pub fn validate_region(region: &str) -> Result<()> {
    let re = Regex::new(r"^(us|eu|ap|ca|sa|me|af|il|mx|cn)(-gov|-iso|-isob)?-(north|south|east|west|central|northeast|northwest|southeast|southwest)-[1-9]$")
        .expect("region pattern is valid");
    if re.is_match(region) {
        Ok(())
    } else {
        Err(Error::usage(format!(
            "'{region}' is not an AWS region name. Use a region such as us-east-1, eu-west-1 \
             or ap-northeast-1 (`aws ec2 describe-regions` lists them)."
        )))
    }
}

/// Commercial regions are those outside GovCloud, the ISO partitions and China.
fn is_commercial(region: &str) -> bool {
    !(region.contains("-gov-") || region.contains("-iso") || region.starts_with("cn-"))
}

/// Checks a model id the user typed that is not a catalog key: a foundation model id
/// (`amazon.nova-lite-v1:0`), an inference profile id (`eu.amazon.nova-lite-v1:0`), or the ARN
/// of a foundation model, inference profile, application inference profile or provisioned model.
pub fn validate_custom_model(id: &str) -> Result<()> {
    let model_id = r"(?:(?:us|eu|apac|jp|au|ca|us-gov|global)\.)?[a-z0-9-]+\.[a-z0-9][a-z0-9.-]*(?::[a-z0-9]+)*";
    let id_re = Regex::new(&format!("^{model_id}$")).expect("model id pattern is valid");
    let arn_re = Regex::new(&format!(
        r"^arn:aws(?:-[a-z]+)*:bedrock:[a-z0-9-]+:(?:[0-9]{{12}})?:(?:foundation-model/{model_id}|inference-profile/{model_id}|application-inference-profile/[a-z0-9]+|provisioned-model/[a-z0-9]+|custom-model-deployment/[a-z0-9]+)$"
    ))
    .expect("ARN pattern is valid");
    if id_re.is_match(id) || arn_re.is_match(id) {
        return Ok(());
    }
    let mut message = format!("'{id}' is neither a catalog model nor a Bedrock model id or ARN.\n");
    message.push_str("Use a key from `genai-scaffold list` (");
    message.push_str(&keys().join(", "));
    message.push_str("), a model id such as amazon.nova-lite-v1:0 or eu.amazon.nova-lite-v1:0,\n");
    message.push_str(
        "or an ARN such as arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-lite-v1:0.",
    );
    Err(Error::usage(message))
}

/// The catalog keys, in order.
pub fn keys() -> Vec<&'static str> {
    MODELS.iter().map(|m| m.key).collect()
}

/// The model catalog as a table for `genai-scaffold list`.
pub fn describe() -> String {
    let mut out = String::new();
    for m in MODELS {
        let _ = writeln!(out, "  {:<18} {}  [{}]", m.key, m.name, m.model_id);
        for p in m.profiles {
            let _ = writeln!(
                out,
                "  {:<18}   {}.  from {}",
                "",
                p.prefix,
                p.source_regions.join(", ")
            );
        }
        if m.global {
            let _ = writeln!(out, "  {:<18}   global.  from any commercial region", "");
        }
        let eol = m.end_of_life.unwrap_or("none announced");
        let _ = writeln!(out, "  {:<18}   {}; end of life: {eol}", "", m.note);
    }
    out
}

/// Today's date in UTC as an ISO string, from the system clock.
pub fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    iso_date_from_days((secs / 86_400) as i64)
}

/// Converts days since 1970-01-01 to `YYYY-MM-DD` (Howard Hinnant's civil-from-days).
fn iso_date_from_days(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_picks_the_geography_profile() {
        let haiku = find("claude-haiku-4.5").unwrap();
        assert_eq!(
            haiku.invocation_id("us-east-1").unwrap(),
            "us.anthropic.claude-haiku-4-5-20251001-v1:0"
        );
        assert_eq!(
            haiku.invocation_id("eu-west-1").unwrap(),
            "eu.anthropic.claude-haiku-4-5-20251001-v1:0"
        );
        assert_eq!(
            haiku.invocation_id("ap-northeast-1").unwrap(),
            "jp.anthropic.claude-haiku-4-5-20251001-v1:0"
        );
        // No geography covers São Paulo, the global profile does.
        assert_eq!(
            haiku.invocation_id("sa-east-1").unwrap(),
            "global.anthropic.claude-haiku-4-5-20251001-v1:0"
        );
        let micro = find("nova-micro").unwrap();
        assert_eq!(
            micro.invocation_id("ap-south-1").unwrap(),
            "apac.amazon.nova-micro-v1:0"
        );
    }

    #[test]
    fn a_region_outside_every_profile_is_refused_with_the_offered_regions() {
        let err = find("nova-micro")
            .unwrap()
            .invocation_id("sa-east-1")
            .unwrap_err()
            .to_string();
        assert!(err.contains("not offered in region sa-east-1"), "{err}");
        assert!(err.contains("us-east-1"), "{err}");
        // GovCloud is outside the global profile too.
        assert!(
            find("claude-haiku-4.5")
                .unwrap()
                .invocation_id("us-gov-west-1")
                .is_err()
        );
    }

    #[test]
    fn regions_are_checked_for_shape() {
        for ok in [
            "us-east-1",
            "eu-central-2",
            "ap-southeast-4",
            "us-gov-west-1",
            "il-central-1",
        ] {
            validate_region(ok).unwrap();
        }
        for bad in [
            "",
            "us-east",
            "US-EAST-1",
            "us-east-1a",
            "moon-base-1",
            "us_east_1",
        ] {
            assert!(validate_region(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn custom_model_ids_and_arns_are_checked_for_shape() {
        for ok in [
            "amazon.nova-lite-v1:0",
            "eu.amazon.nova-lite-v1:0",
            "global.anthropic.claude-haiku-4-5-20251001-v1:0",
            "meta.llama3-3-70b-instruct-v1:0",
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-lite-v1:0",
            "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0",
            "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123def456",
        ] {
            validate_custom_model(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for bad in [
            "",
            "nova",
            "gpt-4o",
            "amazon.nova-lite-v1:0; rm -rf /",
            "arn:aws:s3:::bucket",
            "arn:aws:bedrock:us-east-1:123:inference-profile/us.amazon.nova-lite-v1:0",
            "{{ model }}",
        ] {
            assert!(validate_custom_model(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn no_model_is_past_its_end_of_life_on_the_review_date() {
        for m in MODELS {
            assert!(
                !m.is_retired(REVIEWED),
                "{} retired on {:?}",
                m.key,
                m.end_of_life
            );
        }
    }

    #[test]
    fn the_catalog_has_the_models_the_workshops_use_and_a_valid_default() {
        for key in ["claude-haiku-4.5", "nova-lite", "nova-micro", DEFAULT_MODEL] {
            let model = find(key).unwrap_or_else(|| panic!("{key} missing"));
            model.invocation_id(DEFAULT_REGION).unwrap();
        }
        let mut keys = keys();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), MODELS.len(), "duplicate catalog key");
    }

    #[test]
    fn dates_come_out_in_iso_form() {
        assert_eq!(iso_date_from_days(0), "1970-01-01");
        assert_eq!(iso_date_from_days(20_417), "2025-11-25");
        assert_eq!(iso_date_from_days(11_016), "2000-02-29");
        assert_eq!(today().len(), 10);
    }
}
