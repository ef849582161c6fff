# SPDX-License-Identifier: LGPL-2.1-or-later
# Sourced by the scripts that need a Debian package only now and then
# (valgrind, graphviz): apt_install_missing COMMAND PACKAGE installs
# PACKAGE with apt-get (through sudo when not root) unless COMMAND is on
# the PATH.
apt_install_missing () {
  command -v "$1" >/dev/null && return 0
  echo "installing $2"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "$2"
}
