"""How a deployed stage starts WebSocket answers: the generation function's asynchronous
invocations are never retried (a retry would post the answer again from seq 0), wait at most a
minute, and send a failure's record to the connection function, which alone may start them
and carries no concurrency cap. Prints the checks; exits 1 unless they hold. Run after
`make deploy-all`.

    python -m genai_standin.asynchronous PROJECT STAGE
"""

import sys

import boto3


def main():
    project, stage = sys.argv[1:3]
    lambda_ = boto3.client("lambda")
    routes = lambda_.get_function(FunctionName=f"{project}-{stage}-realtime-ws")
    generations = lambda_.get_function(FunctionName=f"{project}-{stage}-realtime-ws-generate")
    config = lambda_.get_function_event_invoke_config(FunctionName=f"{project}-{stage}-realtime-ws-generate")
    checks = {
        "retries 0": config.get("MaximumRetryAttempts") == 0,
        "event age 60 s": config.get("MaximumEventAgeInSeconds") == 60,
        "failures to the connection function": config.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        == routes["Configuration"]["FunctionArn"],
        "connection function names the generation function": routes["Configuration"]["Environment"]["Variables"].get(
            "GENERATE_FUNCTION"
        )
        == generations["Configuration"]["FunctionName"],
        "connection function uncapped": "ReservedConcurrentExecutions" not in routes.get("Concurrency", {}),
        "generation function capped": "ReservedConcurrentExecutions" in generations.get("Concurrency", {}),
    }
    for name, ok in checks.items():
        print(f"realtime-ws-generate: {name}: {'yes' if ok else 'NO'}")
    sys.exit(0 if all(checks.values()) else 1)


if __name__ == "__main__":
    main()
