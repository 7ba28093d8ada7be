# Sourced by scripts/bench-janus.sh (not run on its own).
# janus_config DIR PORT: writes a minimal Janus configuration into DIR: HTTP transport only,
# on 127.0.0.1:PORT; the VideoRoom plugin only (through a plugins folder holding just its
# library); no STUN/TURN server, no NAT mapping, no ICE-TCP, no mDNS, no event handlers or
# loggers; ICE candidates only on $JANUS_IFACE, a veth interface made for the run with one
# private address ($JANUS_IP/32): libnice (Janus's ICE) never gathers on loopback, and an
# address of a local interface is delivered through loopback anyway. Nothing it does
# reaches beyond this machine.
JANUS_IFACE="${JANUS_IFACE:-ocjanus0}"
JANUS_IP="${JANUS_IP:-10.254.77.1}"

# janus_iface_up / janus_iface_down: make and remove $JANUS_IFACE (needs root).
janus_iface_up() {
  ip link show "$JANUS_IFACE" >/dev/null 2>&1 ||
    ip link add "$JANUS_IFACE" type veth peer name "${JANUS_IFACE}p"
  ip addr replace "$JANUS_IP/32" dev "$JANUS_IFACE"
  ip link set "$JANUS_IFACE" up
  ip link set "${JANUS_IFACE}p" up
}
janus_iface_down() {
  ip link del "$JANUS_IFACE" 2>/dev/null || true
}

janus_config() {
  local dir="$1" port="$2" lib=/usr/lib/x86_64-linux-gnu/janus
  [ -d "$lib" ] || lib="$(dirname "$(dpkg -L janus | grep -m1 'libjanus_videoroom.so$')")/.."
  mkdir -p "$dir/plugins" "$dir/transports" "$dir/events" "$dir/loggers"
  ln -sf "$lib/plugins/libjanus_videoroom.so" "$dir/plugins/"
  ln -sf "$lib/transports/libjanus_http.so" "$dir/transports/"
  cat >"$dir/janus.jcfg" <<CFG
general: {
  configs_folder = "$dir"
  plugins_folder = "$dir/plugins"
  transports_folder = "$dir/transports"
  events_folder = "$dir/events"
  loggers_folder = "$dir/loggers"
  debug_level = 2
  session_timeout = 0
}
certificates: {
}
media: {
  rtp_port_range = "40000-60000"
}
nat: {
  nice_debug = false
  ice_lite = false
  ice_tcp = false
  full_trickle = false
  ignore_mdns = true
  ice_enforce_list = "$JANUS_IFACE"
}
plugins: {
}
transports: {
}
loggers: {
}
events: {
  broadcast = false
}
CFG
  cat >"$dir/janus.transport.http.jcfg" <<CFG
general: {
  json = "compact"
  base_path = "/janus"
  http = true
  port = $port
  ip = "127.0.0.1"
  https = false
}
admin: {
  admin_http = false
  admin_https = false
}
cors: {
}
CFG
  cat >"$dir/janus.plugin.videoroom.jcfg" <<CFG
general: {
}
CFG
}
