# Shared by scripts/demo and scripts/test: install what is missing, configure and build.
# Meant to be sourced from the repository root.

PRISM_PACKAGES=(
  g++ meson ninja-build pkg-config
  mpich libmpich-dev
  libbenchmark-dev doctest-dev libstb-dev libjpeg62-turbo-dev zlib1g-dev
  dataset-fashion-mnist
)

# apt-get only when a package is missing, so a ready machine starts at once.
ensure_packages() {
  local missing=()
  for p in "${PRISM_PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  ((${#missing[@]} == 0)) && return 0
  echo "== installing: ${missing[*]}"
  local sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# build_dir DIR [meson options...] [-- targets...]: configure once (reconfigure if options
# change), then build the targets given, or everything.
build_dir() {
  local dir=$1
  shift
  local options=()
  while (($# > 0)) && [[ $1 != -- ]]; do
    options+=("$1")
    shift
  done
  (($# > 0)) && shift
  if [[ -f $dir/build.ninja ]]; then
    meson configure "$dir" "${options[@]}" >/dev/null
  else
    meson setup "$dir" "${options[@]}" >/dev/null
  fi
  ninja -C "$dir" "$@" >/dev/null
}
