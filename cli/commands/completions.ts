/**
 * `secshrnet completions bash|zsh|fish`: a shell completion script for the
 * commands and their flags, and for tags (from `secshrnet ls --json`, which
 * needs no password) after `get`, `rm`, `check` and `repair`.
 *
 * @module
 */

import { UsageError } from "../../core/errors.ts";
import { parse, positionals } from "../args.ts";
import { EXIT } from "../exit.ts";
import type { Command } from "./command.ts";

/** Flags of `command` as typed on the command line. */
function flagsOf(command: Command): string[] {
  return Object.entries(command.options).flatMap(([name, option]) => [
    `--${name}`,
    ...(option.short ? [`-${option.short}`] : []),
  ]);
}

// Tags from `ls --json`: every "tag": "…" value, JSON escapes left as they are.
const TAGS_COMMAND = `secshrnet ls --json 2>/dev/null | sed -n 's/^ *"tag": "\\(.*\\)",$/\\1/p'`;

function bash(commands: readonly Command[]): string {
  const cases = commands.map((c) => `    ${c.name}) opts="${flagsOf(c).join(" ")}" ;;`).join("\n");
  return `# bash completion for secshrnet; load with: source <(secshrnet completions bash)
_secshrnet() {
  local cur=\${COMP_WORDS[COMP_CWORD]} cmd=\${COMP_WORDS[1]} opts=""
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "${commands.map((c) => c.name).join(" ")} --help --version" -- "$cur"))
    return
  fi
  case "$cmd" in
${cases}
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  elif [ "$COMP_CWORD" -eq 2 ] && case " get rm check repair " in *" $cmd "*) true ;; *) false ;; esac; then
    local IFS=$'\\n'
    COMPREPLY=($(compgen -W "$(${TAGS_COMMAND})" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}
complete -F _secshrnet secshrnet
`;
}

function zsh(commands: readonly Command[]): string {
  const cases = commands.map((c) =>
    `    ${c.name}) _values 'option' ${flagsOf(c).map((f) => `'${f}'`).join(" ")} ;;`
  ).join("\n");
  return `#compdef secshrnet
# zsh completion for secshrnet; load with: source <(secshrnet completions zsh)
_secshrnet() {
  if (( CURRENT == 2 )); then
    _values 'command' ${
    commands.map((c) => `'${c.name}[${c.summary.replace(/'/g, "")}]'`).join(" ")
  }
    return
  fi
  if [[ "\${words[CURRENT]}" == -* ]]; then
    case "\${words[2]}" in
${cases}
    esac
  elif (( CURRENT == 3 )) && [[ "\${words[2]}" == (get|rm|check|repair) ]]; then
    local -a tags
    tags=("\${(@f)$(${TAGS_COMMAND})}")
    compadd -a tags
  else
    _files
  fi
}
compdef _secshrnet secshrnet
`;
}

function fish(commands: readonly Command[]): string {
  const lines = [
    "# fish completion for secshrnet; load with: secshrnet completions fish | source",
    "complete -c secshrnet -f",
    ...commands.map((c) =>
      `complete -c secshrnet -n __fish_use_subcommand -a ${c.name} -d '${
        c.summary.replace(/'/g, "")
      }'`
    ),
    ...commands.flatMap((c) =>
      Object.entries(c.options).map(([name, option]) =>
        `complete -c secshrnet -n '__fish_seen_subcommand_from ${c.name}' -l ${name}` +
        (option.short ? ` -s ${option.short}` : "")
      )
    ),
    "function __secshrnet_tags",
    `    ${TAGS_COMMAND}`,
    "end",
    "complete -c secshrnet -n '__fish_seen_subcommand_from get rm check repair' -a '(__secshrnet_tags)'",
    "complete -c secshrnet -n '__fish_seen_subcommand_from put serve' -F",
  ];
  return lines.join("\n") + "\n";
}

/** Makes the `completions` command for `commands` (itself included by the caller). */
export function completionsCommand(commands: () => readonly Command[]): Command {
  return {
    name: "completions",
    summary: "print a shell completion script",
    help: `Usage: secshrnet completions bash|zsh|fish

Prints a completion script for commands, flags and, after get, rm, check and
repair, tags.

Examples:
  source <(secshrnet completions bash)      # in ~/.bashrc
  source <(secshrnet completions zsh)       # in ~/.zshrc
  secshrnet completions fish > ~/.config/fish/completions/secshrnet.fish`,
    options: { help: { type: "boolean", short: "h" } },
    run(args) {
      const parsed = parse(args, this.options);
      const [shell] = positionals(parsed, 1, 1, "secshrnet completions bash|zsh|fish");
      const scripts: Record<string, (c: readonly Command[]) => string> = { bash, zsh, fish };
      const script = scripts[shell];
      if (script === undefined) {
        throw new UsageError(`no completions for '${shell}'; use bash, zsh or fish`);
      }
      Deno.stdout.writeSync(new TextEncoder().encode(script(commands())));
      return Promise.resolve(EXIT.ok);
    },
  };
}
