/**
 * `secshrnet completions bash|zsh|fish`: a shell completion script for the
 * commands and their flags, and for tags (from `secshrnet ls --json`, which
 * needs no password) after `get`, `rm`, `check` and `repair`.
 *
 * The tags come from the same `secshrnet` the user is completing (the
 * command word as typed, `~` expanded: the installed one in PATH, or
 * `./secshrnet`), with the `-c X`, `--config X`, `--config=X`, `-cX` or
 * `-c=X` found anywhere on the line, before or after the command. A tag is
 * only ever compared as text, never expanded by the shell: a server could
 * list a tag named `$(...)`.
 *
 * @module
 */

import { UsageError } from "../../core/errors.ts";
import { parse, positionals } from "../args.ts";
import { EXIT } from "../exit.ts";
import type { Command } from "./command.ts";

/** Commands whose first argument is an existing tag. */
const FIRST_IS_TAG = ["get", "rm"];
/** Commands whose every argument is an existing tag. */
const ALL_ARE_TAGS = ["check", "repair"];
/** Flags whose value is a path. */
const PATH_FLAGS = ["-c", "--config", "--password-file", "-r", "--root"];
/** Flags before any command. */
const GLOBAL_FLAGS = ["-c", "--config", "-h", "--help", "-V", "--version"];

/** Flags of `command` as typed on the command line. */
function flagsOf(command: Command): string[] {
  return Object.entries(command.options).flatMap(([name, option]) => [
    `--${name}`,
    ...(option.short ? [`-${option.short}`] : []),
  ]);
}

/** Every flag that takes a value (in any command), but the config flag. */
function valuedFlags(commands: readonly Command[]): string[] {
  const flags = new Set<string>();
  for (const command of commands) {
    for (const [name, option] of Object.entries(command.options)) {
      if (option.type !== "string" || name === "config") continue;
      flags.add(`--${name}`);
      if (option.short) flags.add(`-${option.short}`);
    }
  }
  return [...flags].sort();
}

// Tags from `ls --json`: every "tag": "…" value, JSON escapes left as they are.
const TAGS_FILTER = `sed -n 's/^ *"tag": "\\(.*\\)",$/\\1/p'`;

function bash(commands: readonly Command[]): string {
  const cases = commands.map((c) => `    ${c.name}) opts="${flagsOf(c).join(" ")}" ;;`).join("\n");
  const valued = valuedFlags(commands).join("|");
  return `# bash completion for secshrnet; load with: source <(secshrnet completions bash)
# Tags come from '<this secshrnet> ls --json' with the line's -c/--config.

# A word as typed, as the command will get it: one level of quotes removed, ~ expanded.
_secshrnet_word() {
  local w=$1
  case $w in
    \\'*\\' | \\"*\\") w=\${w:1:\${#w}-2} ;;
    *) w=\${w//\\\\/} ;;
  esac
  case $w in
    \\~) w=$HOME ;;
    \\~/*) w=$HOME/\${w:2} ;;
  esac
  printf '%s\\n' "$w"
}

_secshrnet() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]}
  local n=\${#COMP_WORDS[@]} i j w cmd="" npos=0 opts="" self tag
  local -a config=()
  # bash splits --flag=value at "=": the value is then two words on.
  for ((i = 1; i < n; i++)); do
    [ "$i" -eq "$COMP_CWORD" ] && continue
    w=\${COMP_WORDS[i]}
    case $w in
      -c | --config | ${valued})
        j=$((i + 1))
        if [ "\${COMP_WORDS[j]}" = "=" ] && [ "$j" -ne "$COMP_CWORD" ]; then j=$((j + 1)); fi
        if [ "$j" -lt "$n" ] && [ "$j" -ne "$COMP_CWORD" ]; then
          case $w in -c | --config) config=(--config "$(_secshrnet_word "\${COMP_WORDS[j]}")") ;; esac
        fi
        i=$j ;;
      -c=*) config=(--config "$(_secshrnet_word "\${w#-c=}")") ;;
      -c?*) config=(--config "$(_secshrnet_word "\${w#-c}")") ;;
      --config=*) config=(--config "$(_secshrnet_word "\${w#--config=}")") ;;
      -*) ;;
      *)
        if [ "$i" -lt "$COMP_CWORD" ]; then
          if [ -z "$cmd" ]; then cmd=$w; else npos=$((npos + 1)); fi
        fi ;;
    esac
  done
  case $prev in
    ${PATH_FLAGS.join(" | ")})
      compopt -o filenames 2>/dev/null
      COMPREPLY=($(compgen -f -- "$cur"))
      return ;;
    ${valued}) COMPREPLY=(); return ;;
  esac
  if [ -z "$cmd" ]; then
    case $cur in
      -*) COMPREPLY=($(compgen -W "${GLOBAL_FLAGS.join(" ")}" -- "$cur")) ;;
      *) COMPREPLY=($(compgen -W "${commands.map((c) => c.name).join(" ")}" -- "$cur")) ;;
    esac
    return
  fi
  case $cmd in
${cases}
  esac
  local tags=0
  case $cmd in
    ${FIRST_IS_TAG.join(" | ")}) [ "$npos" -eq 0 ] && tags=1 ;;
    ${ALL_ARE_TAGS.join(" | ")}) tags=1 ;;
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  elif [ "$tags" -eq 1 ]; then
    # Compared as text only: compgen -W would expand a tag like $(...).
    self=$(_secshrnet_word "\${COMP_WORDS[0]}")
    COMPREPLY=()
    while IFS= read -r tag; do
      [[ $tag == "$cur"* ]] && COMPREPLY+=("$tag")
    done < <("$self" ls --json \${config[@]+"\${config[@]}"} 2>/dev/null | ${TAGS_FILTER})
  else
    compopt -o filenames 2>/dev/null
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}
complete -F _secshrnet secshrnet
`;
}

function zsh(commands: readonly Command[]): string {
  const cases = commands.map((c) =>
    `      ${c.name}) _values 'option' ${flagsOf(c).map((f) => `'${f}'`).join(" ")} ;;`
  ).join("\n");
  const valued = valuedFlags(commands).join("|");
  return `#compdef secshrnet
# zsh completion for secshrnet; load with: source <(secshrnet completions zsh)
# Tags come from '<this secshrnet> ls --json' with the line's -c/--config.

# A word as typed, as the command will get it: quotes removed, ~ expanded.
_secshrnet_word() {
  local w=\${(Q)1}
  case $w in
    ('~') w=$HOME ;;
    ('~/'*) w=$HOME/\${w#\\~/} ;;
  esac
  print -r -- "$w"
}

_secshrnet() {
  local cur=\${words[CURRENT]} prev=\${words[CURRENT-1]} w cmd= self
  local -i i j npos=0 n=\${#words}
  local -a config tags
  for (( i = 2; i <= n; i++ )); do
    (( i == CURRENT )) && continue
    w=\${words[i]}
    case $w in
      (-c|--config|${valued})
        j=i+1
        if (( j <= n && j != CURRENT )) && [[ $w == (-c|--config) ]]; then
          config=(--config "$(_secshrnet_word "\${words[j]}")")
        fi
        i=j ;;
      (-c=*) config=(--config "$(_secshrnet_word "\${w#-c=}")") ;;
      (-c?*) config=(--config "$(_secshrnet_word "\${w#-c}")") ;;
      (--config=*) config=(--config "$(_secshrnet_word "\${w#--config=}")") ;;
      (-*) ;;
      (*)
        if (( i < CURRENT )); then
          if [[ -z $cmd ]]; then cmd=$w; else npos+=1; fi
        fi ;;
    esac
  done
  case $prev in
    (${PATH_FLAGS.join("|")}) _files; return ;;
    (${valued}) return ;;
  esac
  if [[ -z $cmd ]]; then
    if [[ $cur == -* ]]; then
      _values 'option' ${GLOBAL_FLAGS.map((f) => `'${f}'`).join(" ")}
    else
      _values 'command' ${
    commands.map((c) => `'${c.name}[${c.summary.replace(/['\]]/g, "")}]'`).join(" ")
  }
    fi
    return
  fi
  if [[ $cur == -* ]]; then
    case $cmd in
${cases}
    esac
  elif [[ $cmd == (${ALL_ARE_TAGS.join("|")}) ]] || { [[ $cmd == (${
    FIRST_IS_TAG.join("|")
  }) ]] && (( npos == 0 )); }; then
    self=$(_secshrnet_word "\${words[1]}")
    tags=(\${(f)"$("$self" ls --json "\${config[@]}" 2>/dev/null | ${TAGS_FILTER})"})
    compadd -a tags
  else
    _files
  fi
}

if [[ $funcstack[1] == _secshrnet ]]; then
  _secshrnet "$@"
else
  compdef _secshrnet secshrnet
fi
`;
}

function fish(commands: readonly Command[]): string {
  const valued = valuedFlags(commands).map((f) => `'${f}'`).join(" ");
  const quoted = (text: string) => `'${text.replace(/['\\]/g, "")}'`;
  const declare = (condition: string, name: string, option: Command["options"][string]) =>
    `complete -c secshrnet -n ${condition} -l ${name}` +
    (option.short ? ` -s ${option.short}` : "") +
    (option.type === "string" ? " -r" : "") +
    (PATH_FLAGS.includes(`--${name}`) ? " -F" : "");
  const lines = [
    "# fish completion for secshrnet; load with: secshrnet completions fish | source",
    "# Tags come from '<this secshrnet> ls --json' with the line's -c/--config.",
    "complete -c secshrnet -f",
    "",
    "# Sets __secshrnet_self (the command word), _cmd (the command), _npos (its",
    "# arguments before the cursor) and _config (--config X, from anywhere).",
    "function __secshrnet_scan",
    "    set -l before (commandline -opc)",
    "    set -l all (commandline -op)",
    "    set -l token (commandline -ct)",
    "    set -l skip 0",
    '    test -n "$token"; and set skip (math (count $before) + 1)',
    "    set -g __secshrnet_self (string replace -r -- '^~(?=/|$)' $HOME $all[1])",
    "    set -g __secshrnet_cmd ''",
    "    set -g __secshrnet_npos 0",
    "    set -g __secshrnet_config",
    "    set -l i 2",
    "    while test $i -le (count $all)",
    "        set -l w $all[$i]",
    "        if test $i -ne $skip",
    "            switch $w",
    `                case '-c' '--config' ${valued}`,
    "                    set -l j (math $i + 1)",
    "                    if contains -- $w -c --config; and test $j -le (count $all) -a $j -ne $skip",
    "                        set -g __secshrnet_config --config $all[$j]",
    "                    end",
    "                    set i $j",
    "                case '-c=*'",
    "                    set -g __secshrnet_config --config (string sub -s 4 -- $w)",
    "                case '-c?*'",
    "                    set -g __secshrnet_config --config (string sub -s 3 -- $w)",
    "                case '--config=*'",
    "                    set -g __secshrnet_config --config (string sub -s 10 -- $w)",
    "                case '-*'",
    "                case '*'",
    "                    if test $i -le (count $before)",
    '                        if test -z "$__secshrnet_cmd"',
    "                            set -g __secshrnet_cmd $w",
    "                        else",
    "                            set -g __secshrnet_npos (math $__secshrnet_npos + 1)",
    "                        end",
    "                    end",
    "            end",
    "        end",
    "        set i (math $i + 1)",
    "    end",
    "    if set -q __secshrnet_config[2]",
    "        set __secshrnet_config[2] (string replace -r -- '^~(?=/|$)' $HOME $__secshrnet_config[2])",
    "    end",
    "end",
    "",
    "function __secshrnet_no_command",
    "    __secshrnet_scan",
    '    test -z "$__secshrnet_cmd"',
    "end",
    "",
    "function __secshrnet_using",
    "    __secshrnet_scan",
    '    contains -- "$__secshrnet_cmd" $argv',
    "end",
    "",
    "function __secshrnet_wants_tag",
    "    __secshrnet_scan",
    '    switch "$__secshrnet_cmd"',
    `        case ${FIRST_IS_TAG.join(" ")}`,
    "            test $__secshrnet_npos -eq 0",
    `        case ${ALL_ARE_TAGS.join(" ")}`,
    "            true",
    "        case '*'",
    "            false",
    "    end",
    "end",
    "",
    "function __secshrnet_tags",
    "    __secshrnet_scan",
    `    $__secshrnet_self ls --json $__secshrnet_config 2>/dev/null | ${TAGS_FILTER}`,
    "end",
    "",
    ...commands.map((c) =>
      `complete -c secshrnet -n __secshrnet_no_command -a ${c.name} -d ${quoted(c.summary)}`
    ),
    "complete -c secshrnet -n __secshrnet_no_command -s c -l config -r -F",
    "complete -c secshrnet -n __secshrnet_no_command -s h -l help",
    "complete -c secshrnet -n __secshrnet_no_command -s V -l version",
    ...commands.flatMap((c) =>
      Object.entries(c.options).map(([name, option]) =>
        declare(`'__secshrnet_using ${c.name}'`, name, option)
      )
    ),
    "complete -c secshrnet -n __secshrnet_wants_tag -a '(__secshrnet_tags)'",
    "complete -c secshrnet -n '__secshrnet_using put get recover serve; and not __secshrnet_wants_tag' -F",
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
repair, tags. Tags are listed by the secshrnet being completed ('ls --json'),
with the -c/--config given on the line.

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
      const bytes = new TextEncoder().encode(script(commands()));
      for (let done = 0; done < bytes.length;) done += Deno.stdout.writeSync(bytes.subarray(done));
      return Promise.resolve(EXIT.ok);
    },
  };
}
