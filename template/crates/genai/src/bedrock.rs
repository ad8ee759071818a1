//! Streaming a Bedrock ConverseStream answer as plain events.
//!
//! [`GenAi::generate`] starts a generation and returns a [`Generation`] that yields text
//! deltas, then one [`Completion`] with the model's own usage, stop reason and latency.
//! Dropping the `Generation` drops the HTTP response body, which closes the connection: Bedrock
//! stops generating (and billing) for a client that left.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_bedrockruntime::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_bedrockruntime::operation::converse_stream::ConverseStreamError;
use aws_sdk_bedrockruntime::primitives::event_stream::EventReceiver;
use aws_sdk_bedrockruntime::types::error::ConverseStreamOutputError;
use aws_sdk_bedrockruntime::types::{
    ContentBlock, ContentBlockDelta, ConversationRole, ConverseStreamOutput,
    InferenceConfiguration, Message, SystemContentBlock,
};
use serde::Serialize;

use crate::config::Config;
use crate::{ApiError, ErrorCode, ValidRequest};

/// Attempts for a call that Bedrock throttles before the first token (ours, on top of none
/// from the SDK: its retries are turned off so the count is one place).
const THROTTLE_ATTEMPTS: u32 = 3;
/// First backoff; doubled each attempt.
const THROTTLE_BACKOFF: Duration = Duration::from_millis(100);

/// Token counts, as the model reported them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    /// Tokens in the prompt (and system prompt).
    pub prompt_tokens: u32,
    /// Tokens generated.
    pub completion_tokens: u32,
    /// Their sum.
    pub total_tokens: u32,
}

/// How a generation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// The model's usage report.
    pub usage: Usage,
    /// `end_turn`, `max_tokens`, ...
    pub stop_reason: String,
    /// Bedrock's own latency measurement, when it sent one.
    pub model_latency_ms: Option<u64>,
}

/// One step of a generation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// More text.
    Delta(String),
    /// The end, with usage.
    Done(Completion),
}

/// The GenAI service: a Bedrock client and the configuration, created once per container.
#[derive(Debug, Clone)]
pub struct GenAi {
    client: aws_sdk_bedrockruntime::Client,
    config: Config,
    /// Set by the first generation this service (its process, deployed) starts.
    answered: Arc<AtomicBool>,
}

impl GenAi {
    /// Wraps a client built elsewhere (tests point one at the fake Bedrock).
    pub fn new(client: aws_sdk_bedrockruntime::Client, config: Config) -> Self {
        GenAi {
            client,
            config,
            answered: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The deployed service: configuration from SSM (when [`crate::CONFIG_ENV`] is set) and the
    /// environment, then a client for it. Fails with a message for the operator when the
    /// configuration cannot be read, so the function fails at init, visibly.
    pub async fn from_env() -> Result<Self, String> {
        let parameters = match std::env::var(crate::CONFIG_ENV) {
            Ok(path) => {
                let shared = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
                crate::config::load_parameters(&aws_sdk_ssm::Client::new(&shared), &path).await?
            }
            Err(_) => std::collections::HashMap::new(),
        };
        Ok(GenAi::from_config(Config::from_env_and(&parameters)).await)
    }

    /// A client for `config`: the default credential chain in the configured region, or the
    /// `endpoint_url` of a fake Bedrock with static local credentials.
    pub async fn from_config(config: Config) -> Self {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(config.region.clone()));
        if let Some(endpoint) = &config.bedrock_endpoint {
            loader = loader.endpoint_url(endpoint).credentials_provider(
                aws_sdk_bedrockruntime::config::Credentials::new(
                    "local",
                    "local",
                    None,
                    None,
                    "fake-bedrock",
                ),
            );
        }
        let shared = loader.load().await;
        let bedrock = aws_sdk_bedrockruntime::config::Builder::from(&shared)
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .build();
        GenAi::new(aws_sdk_bedrockruntime::Client::from_conf(bedrock), config)
    }

    /// The configuration in use.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Starts a generation. Throttling before the first token is retried with backoff, a
    /// bounded number of times; every other failure is mapped to the protocol's error.
    pub async fn generate(&self, request: &ValidRequest) -> Result<Generation, ApiError> {
        let mut backoff = THROTTLE_BACKOFF;
        let mut attempt = 1;
        loop {
            match self.start(request).await {
                Err(error) if error.code == ErrorCode::Throttled && attempt < THROTTLE_ATTEMPTS => {
                    tokio::time::sleep(backoff).await;
                    backoff *= 2;
                    attempt += 1;
                }
                Ok(mut generation) => {
                    generation.cold_start = !self.answered.swap(true, Ordering::Relaxed);
                    return Ok(generation);
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// One attempt: the call, then events up to the first text, so that a throttle inside
    /// the stream before any token can be retried too.
    async fn start(&self, request: &ValidRequest) -> Result<Generation, ApiError> {
        let message = Message::builder()
            .role(ConversationRole::User)
            .content(ContentBlock::Text(request.prompt.clone()))
            .build()
            .map_err(|e| {
                ApiError::new(
                    ErrorCode::InternalError,
                    format!("building the request: {e}"),
                )
            })?;
        let inference = InferenceConfiguration::builder()
            .max_tokens(i32::try_from(request.max_tokens).unwrap_or(i32::MAX))
            .temperature(request.temperature)
            .build();
        let mut call = self
            .client
            .converse_stream()
            .model_id(&self.config.model_id)
            .messages(message)
            .inference_config(inference);
        if let Some(system) = &request.system {
            call = call.system(SystemContentBlock::Text(system.clone()));
        }
        let output = call.send().await.map_err(|e| self.call_error(e))?;
        let mut generation = Generation {
            stream: output.stream,
            first_token_at: None,
            stop_reason: None,
            pending: None,
            finished: false,
            model_id: self.config.model_id.clone(),
            cold_start: false,
        };
        // Read up to the first delta: an in-stream throttle here is still retryable.
        generation.pending = generation.next().await;
        if let Some(Err(error)) = &generation.pending
            && error.code == ErrorCode::Throttled
        {
            return Err(error.clone());
        }
        Ok(generation)
    }

    fn call_error<R>(&self, error: SdkError<ConverseStreamError, R>) -> ApiError {
        let model = &self.config.model_id;
        let region = &self.config.region;
        match &error {
            SdkError::ServiceError(service) => match service.err() {
                ConverseStreamError::ThrottlingException(_)
                | ConverseStreamError::ServiceUnavailableException(_) => ApiError::new(
                    ErrorCode::Throttled,
                    "the model is busy; try again in a moment",
                ),
                ConverseStreamError::AccessDeniedException(_) => ApiError::new(
                    ErrorCode::ModelAccessDenied,
                    format!(
                        "this account cannot use model {model} in {region}: enable it under Model access in the \
                         Bedrock console for {region}, and check the function's IAM policy"
                    ),
                ),
                ConverseStreamError::ValidationException(e) => ApiError::bad_request(format!(
                    "the model refused the request: {}",
                    e.message().unwrap_or("validation failed")
                )),
                ConverseStreamError::ResourceNotFoundException(_) => ApiError::new(
                    ErrorCode::ModelAccessDenied,
                    format!(
                        "model {model} is not offered in {region}; choose a model or inference profile offered there"
                    ),
                ),
                ConverseStreamError::ModelTimeoutException(_) => {
                    ApiError::new(ErrorCode::Timeout, "the model took too long to answer")
                }
                other => ApiError::new(
                    ErrorCode::ModelError,
                    format!(
                        "the model failed: {}",
                        other.code().unwrap_or("unknown error")
                    ),
                ),
            },
            SdkError::TimeoutError(_) => {
                ApiError::new(ErrorCode::Timeout, "Bedrock did not answer in time")
            }
            _ => ApiError::new(ErrorCode::ModelError, "Bedrock could not be reached"),
        }
    }
}

/// A generation in progress. Read it with [`Generation::next`]; drop it to stop the model.
pub struct Generation {
    stream: EventReceiver<ConverseStreamOutput, ConverseStreamOutputError>,
    first_token_at: Option<Instant>,
    stop_reason: Option<String>,
    pending: Option<Result<Event, ApiError>>,
    finished: bool,
    model_id: String,
    cold_start: bool,
}

impl Generation {
    /// The next event, `None` after [`Event::Done`] or an error.
    pub async fn next(&mut self) -> Option<Result<Event, ApiError>> {
        if let Some(pending) = self.pending.take() {
            return Some(pending);
        }
        if self.finished {
            return None;
        }
        loop {
            let received = match self.stream.recv().await {
                Ok(Some(event)) => event,
                Ok(None) => {
                    self.finished = true;
                    return Some(Err(ApiError::new(
                        ErrorCode::ModelError,
                        "the model stream ended without a usage report",
                    )));
                }
                Err(error) => {
                    self.finished = true;
                    return Some(Err(stream_error(&error)));
                }
            };
            match received {
                ConverseStreamOutput::ContentBlockDelta(delta) => {
                    if let Some(ContentBlockDelta::Text(text)) = delta.delta
                        && !text.is_empty()
                    {
                        self.first_token_at.get_or_insert_with(Instant::now);
                        return Some(Ok(Event::Delta(text)));
                    }
                }
                ConverseStreamOutput::MessageStop(stop) => {
                    self.stop_reason = Some(stop.stop_reason.as_str().to_string());
                }
                ConverseStreamOutput::Metadata(metadata) => {
                    self.finished = true;
                    let usage = metadata.usage.map(|u| Usage {
                        prompt_tokens: u.input_tokens.max(0) as u32,
                        completion_tokens: u.output_tokens.max(0) as u32,
                        total_tokens: u.total_tokens.max(0) as u32,
                    });
                    return Some(Ok(Event::Done(Completion {
                        usage: usage.unwrap_or_default(),
                        stop_reason: self.stop_reason.take().unwrap_or_else(|| "end_turn".into()),
                        model_latency_ms: metadata.metrics.map(|m| m.latency_ms.max(0) as u64),
                    })));
                }
                _ => {}
            }
        }
    }

    /// Moves the generation into a task that forwards its events into a channel, and returns
    /// the receiving end with the generation's first-token clock. Receiving from a channel can
    /// be raced against timers and other work safely (`tokio::select!`, timeouts), which
    /// reading the SDK stream directly cannot. Dropping the receiver stops the task at the next
    /// event, which drops the generation and hangs up on Bedrock.
    pub fn into_events(mut self) -> Events {
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        let (first_tx, first_rx) = tokio::sync::watch::channel(None);
        let model_id = self.model_id.clone();
        let cold_start = self.cold_start;
        tokio::spawn(async move {
            while let Some(event) = self.next().await {
                if first_tx.borrow().is_none() && self.first_token_at.is_some() {
                    let _ = first_tx.send(self.first_token_at);
                }
                if tx.send(event).await.is_err() {
                    return;
                }
            }
        });
        Events {
            receiver: rx,
            first_token_at: first_rx,
            model_id,
            cold_start,
        }
    }

    /// When the first text arrived, if it has.
    pub fn first_token_at(&self) -> Option<Instant> {
        self.first_token_at
    }

    /// Whether this is the first answer of its service (a new instance, deployed).
    pub fn cold_start(&self) -> bool {
        self.cold_start
    }

    /// The model or inference profile invoked.
    pub fn model_id(&self) -> &str {
        &self.model_id
    }
}

/// A generation's events, read from a channel (see [`Generation::into_events`]).
pub struct Events {
    receiver: tokio::sync::mpsc::Receiver<Result<Event, ApiError>>,
    first_token_at: tokio::sync::watch::Receiver<Option<Instant>>,
    model_id: String,
    cold_start: bool,
}

impl Events {
    /// The next event; cancel-safe. `None` after the last one.
    pub async fn recv(&mut self) -> Option<Result<Event, ApiError>> {
        self.receiver.recv().await
    }

    /// When the first text arrived, if it has.
    pub fn first_token_at(&self) -> Option<Instant> {
        *self.first_token_at.borrow()
    }

    /// Whether this is the first answer of its service (a new instance, deployed).
    pub fn cold_start(&self) -> bool {
        self.cold_start
    }

    /// The model or inference profile invoked.
    pub fn model_id(&self) -> &str {
        &self.model_id
    }
}

fn stream_error<R>(error: &SdkError<ConverseStreamOutputError, R>) -> ApiError {
    match error {
        SdkError::ServiceError(service) => match service.err() {
            ConverseStreamOutputError::ThrottlingException(_)
            | ConverseStreamOutputError::ServiceUnavailableException(_) => ApiError::new(
                ErrorCode::Throttled,
                "the model is busy; try again in a moment",
            ),
            ConverseStreamOutputError::ValidationException(e) => ApiError::bad_request(format!(
                "the model refused the request: {}",
                e.message().unwrap_or("validation failed")
            )),
            _ => ApiError::new(
                ErrorCode::ModelError,
                "the model stopped with an error; try again",
            ),
        },
        SdkError::TimeoutError(_) => {
            ApiError::new(ErrorCode::Timeout, "the model stream timed out")
        }
        _ => ApiError::new(ErrorCode::ModelError, "the model stream broke off"),
    }
}
