# Sourced by the bundle scripts that take an action argument (helm-workloads.sh,
# offline-level.sh); set SCRIPT to the script's name first.
die() { echo "$SCRIPT: $*" >&2; exit 2; }
# action_of "$@": sets ACTION to the one argument, which must be install, upgrade or uninstall.
action_of() {
  case "${1:-}" in
    install|upgrade|uninstall) ;;
    *) die "action \"${1:-}\" is not install, upgrade or uninstall" ;;
  esac
  [[ $# -le 1 ]] || die "one argument (the action) expected, got $#"
  ACTION=$1
}
