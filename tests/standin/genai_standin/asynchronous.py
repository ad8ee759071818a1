"""How a deployed stage starts its workers' answers (the WebSocket strategy's generation
function): each worker's asynchronous invocations are retried and expire as its service
declares (never retried: a retry would post the answer again from seq 0), send a failure's
record to the service's function, which alone starts them and carries no concurrency cap,
both functions run with their declared timeout and memory, and the worker names its ledger (a
DynamoDB table of the stage) in its declared variable. Prints the checks; exits 1 unless
they hold. Run after `make deploy-all`, in the project.

    python -m genai_standin.asynchronous PROJECT STAGE
"""

import sys

import boto3

from .declared import project_model


def main():
    project, stage = sys.argv[1:3]
    lambda_ = boto3.client("lambda")
    dynamodb = boto3.client("dynamodb")
    name = lambda function: f"{project}-{stage}-{function}"  # noqa: E731
    workers = {s: d for s, d in project_model()["services"].items() if "worker" in d}
    if not workers:
        sys.exit("no service of this project declares a worker: nothing to check")
    failed = False
    for service, declared in workers.items():
        worker = declared["worker"]
        routes = lambda_.get_function(FunctionName=name(service))
        generations = lambda_.get_function(FunctionName=name(worker["function"]))
        config = lambda_.get_function_event_invoke_config(FunctionName=name(worker["function"]))
        limits = lambda function: (function["Configuration"]["Timeout"], function["Configuration"]["MemorySize"])  # noqa: E731
        ledger = generations["Configuration"]["Environment"]["Variables"].get(worker["ledger-env"], "")
        stage_tables = [t for t in dynamodb.list_tables()["TableNames"] if t.startswith(f"{project}-{stage}-")]
        checks = {
            f"retries {worker['retries']}": config.get("MaximumRetryAttempts") == worker["retries"],
            f"event age {worker['max-event-age-seconds']} s": config.get("MaximumEventAgeInSeconds")
            == worker["max-event-age-seconds"],
            "failures to the service's function": config.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
            == routes["Configuration"]["FunctionArn"],
            f"the service's function names it in {worker['env']}": routes["Configuration"]["Environment"]["Variables"].get(
                worker["env"]
            )
            == generations["Configuration"]["FunctionName"],
            "timeouts and memory as declared": (limits(routes), limits(generations))
            == ((declared["timeout-seconds"], declared["memory-mb"]), (worker["timeout-seconds"], worker["memory-mb"])),
            "the service's function uncapped": "ReservedConcurrentExecutions" not in routes.get("Concurrency", {}),
            "the worker capped": "ReservedConcurrentExecutions" in generations.get("Concurrency", {}),
            f"the worker names its ledger table in {worker['ledger-env']}": ledger in stage_tables,
        }
        for check, ok in checks.items():
            print(f"{worker['function']}: {check}: {'yes' if ok else 'NO'}")
        failed |= not all(checks.values())
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
