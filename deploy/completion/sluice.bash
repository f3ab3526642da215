# bash completion for the sluice CLI. Installed to share/bash-completion/completions/sluice by
# `cmake --install`; or: source deploy/completion/sluice.bash
_sluice() {
  local cur prev verb
  cur="${COMP_WORDS[COMP_CWORD]}"
  prev="${COMP_WORDS[COMP_CWORD-1]}"
  verb="${COMP_WORDS[1]}"
  local verbs="run local sql list status cancel savepoint stop rescale checkpoints taskmanagers"
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "$verbs --help --version" -- "$cur"))
    return
  fi
  case "$prev" in
    --output|-o) COMPREPLY=($(compgen -W "table json" -- "$cur")); return ;;
    --type|-t) COMPREPLY=($(compgen -W "canonical native" -- "$cur")); return ;;
    --log-level) COMPREPLY=($(compgen -W "trace debug info warn error" -- "$cur")); return ;;
    --dir|--savepointPath|--from-savepoint|--from-checkpoint|-s|--dispose|-d)
      COMPREPLY=($(compgen -d -- "$cur")); return ;;
    --plugin) COMPREPLY=($(compgen -f -X '!*.so' -- "$cur")); return ;;
  esac
  local flags="--jobmanager -m --help"
  case "$verb" in
    run) flags="$flags --parallelism -p --detached -d --dry-run --from-savepoint -s --allow-non-restored-state --plugin" ;;
    local) flags="--taskmanagers --slots --parallelism -p --dry-run --log-level --plugin --help" ;;
    sql) flags="$flags validate run --local --plan --plugin --dry-run --detached" ;;
    list) flags="$flags --running -r --all -a --output -o" ;;
    status|taskmanagers|checkpoints) flags="$flags --output -o" ;;
    savepoint) flags="$flags --dir --type -t --dispose -d" ;;
    stop) flags="$flags --drain -d --dir --savepointPath -p --type -t --savepoint" ;;
    rescale) flags="$flags --parallelism -p --dir --type -t" ;;
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$flags" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}
complete -F _sluice sluice
