//! `fake-bedrock`: serves the fake on a port until Ctrl-C, for `make dev` and for pointing any
//! AWS SDK at it (`AWS_ENDPOINT_URL_BEDROCK_RUNTIME=http://127.0.0.1:4010`).
//!
//! Flags: `--port N` (default 4010), `--ttft-ms N` (time to first token, default 200),
//! `--tokens-per-second N` (default 60), `--tokens N` (tokens per answer, default 48).

use fake_bedrock::{FakeBedrock, Settings};

fn parse_args() -> Result<(u16, Settings), String> {
    let mut port = 4010;
    let mut settings = Settings::default();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number: u64 = value
            .parse()
            .map_err(|_| format!("{flag} takes a whole number, not '{value}'"))?;
        match flag.as_str() {
            "--port" => port = u16::try_from(number).map_err(|_| "--port is at most 65535")?,
            "--ttft-ms" => settings.time_to_first_token_ms = number,
            "--tokens-per-second" => settings.tokens_per_second = number.max(1),
            "--tokens" => settings.tokens = u32::try_from(number).unwrap_or(u32::MAX),
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    Ok((port, settings))
}

#[tokio::main]
async fn main() {
    let (port, settings) = match parse_args() {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!(
                "fake-bedrock: {message}\nusage: fake-bedrock [--port N] [--ttft-ms N] [--tokens-per-second N] [--tokens N]"
            );
            std::process::exit(2);
        }
    };
    let fake = match FakeBedrock::start_on(([127, 0, 0, 1], port).into(), settings).await {
        Ok(fake) => fake,
        Err(e) => {
            eprintln!("fake-bedrock: cannot listen on 127.0.0.1:{port}: {e}");
            std::process::exit(1);
        }
    };
    println!("fake-bedrock listening on {}", fake.endpoint());
    let _ = tokio::signal::ctrl_c().await;
}
