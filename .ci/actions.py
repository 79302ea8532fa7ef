#!/usr/bin/env python3
"""witness's GitHub Actions files, checked here as GitHub would take them.

  actions.py lint FILE...
      actionlint on each workflow; a composite action's steps are linted as
      the steps of a reusable workflow with the action's inputs (actionlint
      reads workflows only), so their expressions and shell scripts are
      checked too.

  actions.py run FILE --workspace DIR [--job NAME] [--input NAME=VALUE]...
      Runs the steps of a workflow's job, or of a composite action, as a
      runner would: each `run:` script with the step's shell in its working
      directory, the workflow's, job's and step's env, GITHUB_WORKSPACE,
      RUNNER_TEMP, GITHUB_OUTPUT (steps.ID.outputs) and GITHUB_STEP_SUMMARY;
      a step's `if:` may be success(), failure() or always(). Of `uses:` steps,
      a checkout must find its `path` laid out in DIR by the caller, and a
      cache or an artifact upload is skipped (said so). An expression it
      cannot evaluate is an error, never a guess. Exits 1 when a step failed.
"""
import argparse
import atexit
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
SKIPPED_ACTIONS = {
    "actions/cache": "a cache only saves time",
    "actions/upload-artifact": "the files stay where the steps wrote them",
}


def load(path):
    with open(path) as file:
        # YAML 1.1 reads the key `on` as True.
        document = yaml.load(file, Loader=yaml.BaseLoader)
    if not isinstance(document, dict):
        sys.exit(f"{path}: not a workflow or an action")
    return document


def is_action(document):
    return "runs" in document


def lint(paths):
    actionlint = os.environ.get("ACTIONLINT", "actionlint")
    failed = False
    for path in paths:
        document = load(path)
        if is_action(document):
            if document["runs"].get("using") != "composite":
                sys.exit(f"{path}: only composite actions are linted here")
            for step in document["runs"]["steps"]:
                if "run" in step and "shell" not in step:
                    print(f"{path}: step `{step.get('name', step['run'][:40])}`: a composite action's run step needs `shell:`")
                    failed = True
            workflow = {
                "name": document.get("name", path),
                "on": {
                    "workflow_call": {
                        "inputs": {
                            name: {"type": "string", "required": False}
                            for name in document.get("inputs", {})
                        }
                    }
                },
                "jobs": {
                    "action": {
                        "runs-on": "ubuntu-latest",
                        "steps": document["runs"]["steps"],
                    }
                },
            }
            text = yaml.safe_dump(workflow, sort_keys=False, width=1000)
            result = subprocess.run(
                [actionlint, "-stdin-filename", f"{path} (its steps as a workflow)", "-"],
                input=text,
                text=True,
            )
        else:
            result = subprocess.run([actionlint, path])
        print(f"actionlint {path}: {'ok' if result.returncode == 0 else 'FAILED'}")
        failed |= result.returncode != 0
    return 1 if failed else 0


class Context:
    def __init__(self, workspace, action_path, inputs):
        self.workspace = workspace
        self.temp = tempfile.mkdtemp(prefix="runner-temp.")
        # A runner deletes its temp directory after the job.
        atexit.register(shutil.rmtree, self.temp, True)
        self.summary = os.path.join(self.temp, "step-summary.md")
        open(self.summary, "w").close()
        self.action_path = action_path
        self.inputs = inputs
        self.env = {}
        self.outputs = {}

    def value(self, expression):
        names = {
            "github.workspace": self.workspace,
            "runner.temp": self.temp,
            "runner.os": "Linux",
        }
        if self.action_path is not None:
            # The action as a checkout of it, not a download of a ref.
            names.update({
                "github.action_path": self.action_path,
                "github.action_repository": "local/witness",
                "github.action_ref": "checkout",
            })
        if expression in names:
            return names[expression]
        match = re.fullmatch(r"env\.([A-Za-z0-9_-]+)", expression)
        if match:
            return self.env.get(match[1], "")
        match = re.fullmatch(r"inputs\.([A-Za-z0-9_-]+)", expression)
        if match and self.inputs is not None:
            if match[1] not in self.inputs:
                raise SystemExit(f"`${{{{ {expression} }}}}`: there is no such input")
            return self.inputs[match[1]]
        match = re.fullmatch(r"steps\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)", expression)
        if match:
            return self.outputs.get(match[1], {}).get(match[2], "")
        raise SystemExit(f"cannot evaluate `${{{{ {expression} }}}}` here: keep it to env, inputs, steps' outputs, github.workspace, github.action_path and runner.temp")

    def expand(self, text):
        return EXPRESSION.sub(lambda match: self.value(match[1]), str(text))


def read_outputs(path):
    """GITHUB_OUTPUT's `name=value` lines and `name<<DELIMITER` blocks."""
    outputs = {}
    with open(path) as file:
        lines = file.read().split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            key, delimiter = line.split("<<", 1)
            end = lines.index(delimiter, i + 1)
            outputs[key] = "\n".join(lines[i + 1:end])
            i = end + 1
            continue
        if "=" in line:
            key, value = line.split("=", 1)
            outputs[key] = value
        i += 1
    return outputs


def run(path, workspace, job, given):
    document = load(path)
    workspace = os.path.abspath(workspace)
    if is_action(document):
        action_path = os.path.dirname(os.path.abspath(path))
        context = Context(workspace, action_path, {})
        for name, spec in document.get("inputs", {}).items():
            context.inputs[name] = context.expand(spec.get("default", ""))
        for name, value in given.items():
            if name not in document.get("inputs", {}):
                sys.exit(f"{path} has no input `{name}`")
            context.inputs[name] = value
        steps = document["runs"]["steps"]
    else:
        context = Context(workspace, None, None)
        jobs = document.get("jobs", {})
        job = job or next(iter(jobs))
        if job not in jobs:
            sys.exit(f"{path} has no job `{job}`")
        context.env.update({k: context.expand(v) for k, v in document.get("env", {}).items()})
        context.env.update({k: context.expand(v) for k, v in jobs[job].get("env", {}).items()})
        steps = jobs[job]["steps"]
    failed = None
    for number, step in enumerate(steps, 1):
        name = step.get("name") or step.get("uses") or f"step {number}"
        condition = step.get("if", "").strip()
        condition = EXPRESSION.sub(lambda match: match[1], condition)
        runs = {"": not failed, "success()": not failed, "always()": True, "failure()": bool(failed)}
        if "uses" not in step:
            if condition not in runs:
                sys.exit(f"{path}: step `{name}`: cannot evaluate `if: {step['if']}` here")
            if not runs[condition]:
                print(f"--- {name}: not run (if: {condition or 'success()'})")
                continue
        elif failed and condition != "always()" and not condition.startswith("always() &&"):
            print(f"--- {name}: not run (an earlier step failed)")
            continue
        if "uses" in step:
            action = step["uses"].split("@")[0]
            if action == "actions/checkout":
                where = os.path.join(workspace, context.expand(step.get("with", {}).get("path", ".")))
                if not os.path.isdir(where):
                    sys.exit(f"{path}: step `{name}` checks out into {where}, which the caller did not lay out")
                print(f"--- {name}: laid out by the caller at {where}")
            elif action in SKIPPED_ACTIONS:
                print(f"--- {name}: skipped here ({SKIPPED_ACTIONS[action]})")
            else:
                sys.exit(f"{path}: step `{name}` uses {step['uses']}, which this runner does not stand in for")
            continue
        output = os.path.join(context.temp, f"output.{number}")
        open(output, "w").close()
        env = dict(os.environ)
        env.update(context.env)
        env.update({k: context.expand(v) for k, v in step.get("env", {}).items()})
        env.update(
            GITHUB_WORKSPACE=workspace,
            RUNNER_TEMP=context.temp,
            GITHUB_OUTPUT=output,
            GITHUB_STEP_SUMMARY=context.summary,
            GITHUB_ACTIONS="true",
            CI="true",
        )
        if context.action_path:
            env["GITHUB_ACTION_PATH"] = context.action_path
        shell = step.get("shell")
        script = os.path.join(context.temp, f"step.{number}.sh")
        with open(script, "w") as file:
            file.write(context.expand(step["run"]))
        if shell == "bash":
            command = ["bash", "--noprofile", "--norc", "-eo", "pipefail", script]
        elif shell is None and not is_action(document):
            command = ["bash", "-e", script]
        else:
            sys.exit(f"{path}: step `{name}`: shell `{shell}` is not run here")
        directory = os.path.join(workspace, context.expand(step.get("working-directory", ".")))
        print(f"--- {name}", flush=True)
        status = subprocess.run(command, cwd=directory, env=env).returncode
        if "id" in step:
            context.outputs[step["id"]] = read_outputs(output)
        if status != 0:
            print(f"--- {name}: FAILED (exit {status})", flush=True)
            failed = failed or name
    with open(context.summary) as file:
        summary = file.read()
    if summary:
        print(f"--- the job summary:\n{summary}")
    if failed:
        print(f"{path}: the step `{failed}` failed")
        return 1
    print(f"{path}: every step passed")
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    verbs = parser.add_subparsers(dest="verb", required=True)
    linting = verbs.add_parser("lint")
    linting.add_argument("files", nargs="+")
    running = verbs.add_parser("run")
    running.add_argument("file")
    running.add_argument("--workspace", required=True)
    running.add_argument("--job")
    running.add_argument("--input", action="append", default=[], metavar="NAME=VALUE")
    arguments = parser.parse_args()
    if arguments.verb == "lint":
        return lint(arguments.files)
    given = {}
    for pair in arguments.input:
        name, _, value = pair.partition("=")
        given[name] = value
    return run(arguments.file, arguments.workspace, arguments.job, given)


if __name__ == "__main__":
    sys.exit(main())
