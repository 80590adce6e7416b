#!/usr/bin/env bash
# Installs what Quick Chat's tests need on a Debian machine, and only what is missing:
#   - PostgreSQL, redis-server and protoc from Debian's packages (plus a JRE and Maven when
#     absent), without leaving the system services running on their default ports: the
#     Go helpers in harness/devstack start their own servers on free loopback ports;
#   - the Apache Kafka broker jars, resolved with Maven from .ci/kafka-pom.xml into
#     <repo>/.dev/kafka/<version>/libs (skipped when a marker says the same pom was resolved).
#   - the SeaweedFS server (`weed`, the S3-compatible object store of attachments), built
#     from the Go module proxy at the version harness/devstack/s3.go pins (WeedVersion) into
#     <repo>/.dev/bin/weed (skipped when <repo>/.dev/bin/weed.version names that version;
#     the first build takes several minutes).
# Safe to run any number of times.
#
# Environment:
#   QC_KAFKA_JARS_ROOT       where the Kafka jars go (default <repo>/.dev/kafka)
#   QC_WEED_BIN_DIR          where the weed binary goes (default <repo>/.dev/bin)
#   QC_KEEP_SYSTEM_SERVICES  1 leaves running system postgresql/redis-server services alone
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pom="$repo/.ci/kafka-pom.xml"

log() { printf 'install-deps: %s\n' "$*"; }

# Root runs apt directly; anyone else needs sudo.
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO=(sudo)
	else
		SUDO=(false)
	fi
fi
as_root() {
	if [ "${SUDO[0]:-}" = false ]; then
		log "need root (or sudo) to run: $*" >&2
		return 1
	fi
	"${SUDO[@]}" "$@"
}

# --- Debian packages -------------------------------------------------------------------

have_initdb() { compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; }

missing=()
have_initdb || missing+=(postgresql)
command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] || missing+=(redis-server)
command -v protoc >/dev/null 2>&1 || missing+=(protobuf-compiler)
command -v java >/dev/null 2>&1 || missing+=(default-jre-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
# Debian's Chromium drives the web UI's end-to-end tests (never a downloaded browser).
[ -x /usr/bin/chromium ] || missing+=(chromium)

stop_system_services() {
	# An apt install may start the distribution's services on 5432/6379; the tests never use
	# them, and a stray server on a default port hides configuration mistakes. Only the
	# services' own clusters/pidfiles are touched, never servers started by harness/devstack.
	[ "${QC_KEEP_SYSTEM_SERVICES:-}" = 1 ] && return 0
	local svc stopped=()
	for svc in postgresql redis-server; do
		[ -x "/etc/init.d/$svc" ] || continue
		if as_root service "$svc" status >/dev/null 2>&1; then
			as_root service "$svc" stop >/dev/null 2>&1 || true
			stopped+=("$svc")
		fi
		if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
			as_root systemctl disable "$svc" >/dev/null 2>&1 || true
		fi
	done
	if [ "${#stopped[@]}" -gt 0 ]; then
		log "stopped system services: ${stopped[*]} (devstack runs its own on free ports)"
	fi
}

apt_lists_empty() {
	! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null
}

if [ "${#missing[@]}" -gt 0 ]; then
	log "installing Debian packages: ${missing[*]}"
	# policy-rc.d exit 101 tells invoke-rc.d not to start services during the install; keep an
	# existing policy (Docker images ship one) and remove only the one we add.
	added_policy=""
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		as_root sh -c 'printf "#!/bin/sh\nexit 101\n" > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d'
		added_policy=1
	fi
	cleanup_policy() {
		if [ -n "$added_policy" ]; then as_root rm -f /usr/sbin/policy-rc.d || true; fi
	}
	trap cleanup_policy EXIT

	export DEBIAN_FRONTEND=noninteractive
	if apt_lists_empty; then
		log "apt-get update (no package lists yet)"
		as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
	fi
	if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"; then
		# Stale lists name versions the mirror no longer has: refresh and try once more.
		log "apt-get install failed; running apt-get update and retrying"
		as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
		as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
	fi
	cleanup_policy
	trap - EXIT
	log "installed: ${missing[*]}"
else
	log "Debian packages already present (postgresql, redis-server, protoc, java, mvn)"
fi
stop_system_services

# --- Kafka broker jars -----------------------------------------------------------------

kafka_version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$pom" | head -n1)"
if [ -z "$kafka_version" ]; then
	log "cannot read kafka.version from $pom" >&2
	exit 1
fi
kafka_root="${QC_KAFKA_JARS_ROOT:-$repo/.dev/kafka}"
dest="$kafka_root/$kafka_version"
libs="$dest/libs"
marker="$dest/.resolved"
pom_sum="$(sha256sum "$pom" | cut -d' ' -f1)"

if [ -f "$marker" ] && [ "$(cat "$marker")" = "$pom_sum" ] && compgen -G "$libs/kafka_*-$kafka_version.jar" >/dev/null; then
	log "Kafka $kafka_version jars already in $libs"
else
	log "resolving Kafka $kafka_version jars into $libs"
	mkdir -p "$dest"
	# Resolve into a scratch dir and swap it in, so an interrupted run never leaves a
	# half-filled libs dir that looks complete.
	tmp="$(mktemp -d "$dest/libs.tmp.XXXXXX")"
	trap 'rm -rf "$tmp"' EXIT
	if ! mvn -q -B -f "$pom" dependency:copy-dependencies \
		-DoutputDirectory="$tmp" -DincludeScope=runtime >"$dest/mvn.log" 2>&1; then
		cat "$dest/mvn.log" >&2
		log "maven failed; see above (and $dest/mvn.log)" >&2
		exit 1
	fi
	if ! compgen -G "$tmp/kafka_*-$kafka_version.jar" >/dev/null; then
		log "maven finished but no kafka_*-$kafka_version.jar in $tmp" >&2
		exit 1
	fi
	chmod 755 "$tmp"
	rm -rf "$libs"
	mv "$tmp" "$libs"
	trap - EXIT
	printf '%s\n' "$pom_sum" >"$marker"
	log "resolved $(find "$libs" -maxdepth 1 -name '*.jar' | wc -l) jars into $libs"
fi

# --- SeaweedFS (the S3 server of attachments) --------------------------------------------

weed_version="$(sed -n 's/^const WeedVersion = "\(.*\)"$/\1/p' "$repo/harness/devstack/s3.go")"
if [ -z "$weed_version" ]; then
	log "cannot read WeedVersion from $repo/harness/devstack/s3.go" >&2
	exit 1
fi
weed_dir="${QC_WEED_BIN_DIR:-$repo/.dev/bin}"
weed_bin="$weed_dir/weed"
if [ -x "$weed_bin" ] && [ "$(cat "$weed_bin.version" 2>/dev/null)" = "$weed_version" ]; then
	log "SeaweedFS $weed_version already built at $weed_bin"
else
	log "building SeaweedFS $weed_version into $weed_bin (several minutes, once)"
	mkdir -p "$weed_dir"
	# Outside the workspace: the module is built with its own go.mod, as its authors do.
	weed_src="$(cd / && GOWORK=off GOFLAGS=-mod=mod go mod download -json "github.com/seaweedfs/seaweedfs@$weed_version" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
	if [ -z "$weed_src" ] || [ ! -d "$weed_src/weed" ]; then
		log "go mod download github.com/seaweedfs/seaweedfs@$weed_version gave no source" >&2
		exit 1
	fi
	rm -f "$weed_bin.version"
	(cd "$weed_src" && GOWORK=off GOFLAGS=-mod=mod go build -trimpath -ldflags='-s -w' -o "$weed_bin.tmp" ./weed)
	mv "$weed_bin.tmp" "$weed_bin"
	printf '%s\n' "$weed_version" >"$weed_bin.version"
	log "built $("$weed_bin" version 2>/dev/null | head -n1)"
fi
