"""`orchestrator completion SHELL`: a completion script for bash, zsh or fish, generated from the
argument parser, so that a new command or option completes without a change here."""

from __future__ import annotations

import argparse
import shlex
from dataclasses import dataclass, field

from orchestrator.commands.common import add_user_flag, target

NAME = "completion"
HELP = "print a shell completion script (bash, zsh or fish)"
DESCRIPTION = """\
Print a completion script for the shell: commands, options, their choices, files for definition
paths, and the names of the managed services (for logs, exec, start, stop, restart) and the
generations (for rollback), asked of orchestrator as you press Tab."""
EPILOG = """\
examples:
  orchestrator completion bash > /etc/bash_completion.d/orchestrator
  orchestrator completion zsh > "${fpath[1]}/_orchestrator"
  orchestrator completion fish > ~/.config/fish/completions/orchestrator.fish
  source <(orchestrator completion bash)          # this shell only"""

SHELLS = ("bash", "zsh", "fish")
# what a positional argument holds, by its dest: how to complete it
ARGUMENTS = {
    "name": "names",
    "names": "names",
    "generation": "generations",
    "paths": "files",
    "path": "files",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("shell", nargs="?", choices=SHELLS, help="the shell")
    # what the scripts ask for as they complete
    parser.add_argument("--names", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--generations", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--unit-dir", metavar="DIR", help=argparse.SUPPRESS)
    add_user_flag(parser)


def run(args: argparse.Namespace) -> int:
    from orchestrator.cli import build_parser
    from orchestrator.errors import UsageError

    if args.names or args.generations:
        print("\n".join(_words(args)))
        return 0
    if args.shell is None:
        raise UsageError(f"completion needs a shell: one of {', '.join(SHELLS)}")
    tree = command_tree(build_parser())
    print({"bash": bash, "zsh": zsh, "fish": fish}[args.shell](tree), end="")
    return 0


def _words(args: argparse.Namespace) -> list[str]:
    """The managed service names, or the generation numbers; nothing when there are none (or
    they cannot be read: a completion never prints an error)."""
    from orchestrator.commands.common import managed_names
    from orchestrator.host import history

    where = target(args)
    try:
        if args.names:
            return sorted(managed_names(where.unit_dir))
        return [str(g.number) for g in reversed(history.generations(where.state_dir))]
    except OSError:
        return []


@dataclass
class Option:
    flags: list[str]
    help: str
    takes_value: bool
    choices: list[str]
    files: bool  # its value is a path


@dataclass
class Command:
    words: tuple[str, ...]  # the subcommands leading here, () for orchestrator itself
    help: str = ""
    options: list[Option] = field(default_factory=list)
    hidden: list[str] = field(default_factory=list)  # hidden options that take a value
    argument: str = ""  # names, generations, files, =WORD WORD... (choices), or "" (nothing)
    subcommands: dict[str, Command] = field(default_factory=dict)


def command_tree(
    parser: argparse.ArgumentParser, words: tuple[str, ...] = (), help: str = ""
) -> Command:
    command = Command(words, help)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            for name, sub in action.choices.items():
                command.subcommands[name] = command_tree(sub, (*words, name), helps.get(name, ""))
        elif not action.option_strings:
            choices = "=" + " ".join(map(str, action.choices)) if action.choices else ""
            command.argument = command.argument or ARGUMENTS.get(action.dest, choices)
        elif action.help == argparse.SUPPRESS:
            if action.nargs != 0:
                command.hidden += action.option_strings
        else:
            metavar = str(action.metavar or "")
            command.options.append(
                Option(
                    list(action.option_strings),
                    str(action.help or "").split("(")[0].strip(),
                    action.nargs != 0,
                    [str(c) for c in action.choices or ()],
                    metavar in ("DIR", "FILE", "PATH") or action.dest.endswith(("_dir", "_file")),
                )
            )
    return command


def _all(tree: Command) -> list[Command]:
    return [tree, *(c for sub in tree.subcommands.values() for c in _all(sub))]


def _key(command: Command) -> str:
    return " ".join(("orchestrator", *command.words))


def bash(tree: Command) -> str:
    tables: dict[str, dict[str, str]] = {n: {} for n in ("subs", "opts", "valued", "args")}
    choices: dict[str, str] = {}
    for command in _all(tree):
        key = _key(command)
        tables["subs"][key] = " ".join(command.subcommands)
        tables["opts"][key] = " ".join(f for o in command.options for f in o.flags)
        valued = [f for o in command.options if o.takes_value for f in o.flags]
        tables["valued"][key] = " ".join(valued + command.hidden)
        tables["args"][key] = command.argument
        for option in command.options:
            for flag in option.flags if option.takes_value else ():
                choices[f"{key} {flag}"] = " ".join(option.choices) or (
                    "@files" if option.files else ""
                )
    tables["choices"] = choices
    arrays = "".join(
        f"declare -gA _orchestrator_{name}=(\n"
        + "".join(f"  [{shlex.quote(k)}]={shlex.quote(v)}\n" for k, v in table.items() if v)
        + ")\n"
        for name, table in tables.items()
    )
    return BASH_HEAD + arrays + BASH_FUNCTION


BASH_HEAD = "# orchestrator completion for bash (generated by `orchestrator completion bash`)\n"
BASH_FUNCTION = r"""
_orchestrator_has() { [[ " $1 " == *" $2 "* ]]; }

_orchestrator() {
  local at=0  # zsh's bashcompinit calls this in sh emulation (arrays from 0) unless
  [[ -n ${ZSH_VERSION-} && ! -o ksharrays ]] && at=1
  local cur=${COMP_WORDS[COMP_CWORD+at]} prev=${COMP_WORDS[COMP_CWORD-1+at]}
  local key=orchestrator word i
  local -a context=()
  for ((i = 1; i < COMP_CWORD; i++)); do
    word=${COMP_WORDS[i+at]}
    if [[ $word == --user ]]; then context+=(--user); fi
    if [[ $word == --unit-dir ]]; then context+=(--unit-dir "${COMP_WORDS[i+1+at]}"); fi
    if _orchestrator_has "${_orchestrator_valued[$key]}" "$word"; then
      ((i++))
    elif _orchestrator_has "${_orchestrator_subs[$key]}" "$word"; then
      key="$key $word"
    fi
  done
  COMPREPLY=()
  if _orchestrator_has "${_orchestrator_valued[$key]}" "$prev"; then
    local option="$key $prev"
    local values=${_orchestrator_choices[$option]}
    if [[ $values == @files ]]; then
      compopt -o filenames 2>/dev/null
      COMPREPLY=($(compgen -f -- "$cur"))
    elif [[ -n $values ]]; then
      COMPREPLY=($(compgen -W "$values" -- "$cur"))
    fi
    return 0
  fi
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "${_orchestrator_opts[$key]}" -- "$cur"))
  elif [[ -n ${_orchestrator_subs[$key]} ]]; then
    COMPREPLY=($(compgen -W "${_orchestrator_subs[$key]}" -- "$cur"))
  else
    case ${_orchestrator_args[$key]} in
      names|generations)
        local found ask=--${_orchestrator_args[$key]}
        found=$(${COMP_WORDS[at]} completion "$ask" "${context[@]}" 2>/dev/null)
        COMPREPLY=($(compgen -W "$found" -- "$cur")) ;;
      files)
        compopt -o filenames 2>/dev/null
        COMPREPLY=($(compgen -f -- "$cur")) ;;
      =*)
        COMPREPLY=($(compgen -W "${_orchestrator_args[$key]#=}" -- "$cur")) ;;
    esac
  fi
  return 0
}
complete -F _orchestrator orchestrator
"""


def zsh(tree: Command) -> str:
    """zsh runs the bash script through its bashcompinit layer: one generated logic for both."""
    return (
        "#compdef orchestrator\n"
        "# orchestrator completion for zsh (generated by `orchestrator completion zsh`)\n"
        "autoload -U +X bashcompinit && bashcompinit\n" + bash(tree).split("\n", 1)[1]
    )


def fish(tree: Command) -> str:
    lines = [FISH_HEAD + _fish_key(tree), "complete -c orchestrator -f"]
    for command in _all(tree):
        when = "-n " + shlex.quote(f"test (__fish_orchestrator_key) = {shlex.quote(_key(command))}")
        for name, sub in command.subcommands.items():
            lines.append(f"complete -c orchestrator {when} -a {name} -d {shlex.quote(sub.help)}")
        for option in command.options:
            flags = " ".join(
                f"-l {f[2:]}" if f.startswith("--") else f"-s {f[1:]}" for f in option.flags
            )
            value = ""
            if option.choices:
                value = f" -x -a {shlex.quote(' '.join(option.choices))}"
            elif option.takes_value:
                value = " -r -F" if option.files else " -x"
            lines.append(
                f"complete -c orchestrator {when} {flags}{value} -d {shlex.quote(option.help)}"
            )
        if command.argument in ("names", "generations"):
            ask = f"(orchestrator completion --{command.argument} (__fish_orchestrator_context))"
            lines.append(f"complete -c orchestrator {when} -a {shlex.quote(ask)}")
        elif command.argument == "files":
            lines.append(f"complete -c orchestrator {when} -F")
        elif command.argument.startswith("="):
            lines.append(f"complete -c orchestrator {when} -a {shlex.quote(command.argument[1:])}")
    return "\n".join(lines) + "\n"


FISH_HEAD = """\
# orchestrator completion for fish (generated by `orchestrator completion fish`)
function __fish_orchestrator_context
    set -l words (commandline -opc)
    contains -- --user $words; and echo --user
    set -l at (contains -i -- --unit-dir $words)
    and printf '%s\\n' --unit-dir $words[(math $at + 1)]
end
"""


def _fish_key(tree: Command) -> str:
    """A function that walks the words given so far as the parser would: which (sub)command the
    cursor is in, skipping the values of options."""
    cases = []
    for command in _all(tree):
        valued = [f for o in command.options if o.takes_value for f in o.flags] + command.hidden
        body = []
        if valued:
            body.append(f"if contains -- $word {' '.join(valued)}; set skip 1; continue; end")
        if command.subcommands:
            subs = " ".join(command.subcommands)
            body.append(f'if contains -- $word {subs}; set key "$key $word"; end')
        if body:
            cases.append(
                f"            case {shlex.quote(_key(command))}\n"
                + "".join(f"                {line}\n" for line in body)
            )
    return (
        "function __fish_orchestrator_key\n"
        "    set -l key orchestrator\n"
        "    set -l skip 0\n"
        "    for word in (commandline -opc)[2..-1]\n"
        "        if test $skip = 1; set skip 0; continue; end\n"
        '        switch "$key"\n' + "".join(cases) + "        end\n"
        "    end\n"
        "    echo $key\n"
        "end\n"
    )
