#!/usr/bin/env bash
# Throw-away single-node Apache Kafka 4.1.x (KRaft, combined broker+controller) on loopback,
# run from Maven Central jars. See README.md beside this file.
#
#   kafka.sh fetch                      resolve + cache the jars (idempotent)
#   kafka.sh start [plain|sasl]         fresh storage, start, wait until it serves metadata
#   kafka.sh stop [--keep]              SIGTERM, wait, SIGKILL after a timeout; remove storage (--keep: keep it)
#   kafka.sh resume                     start again on the storage kept by `stop --keep` (failure drills)
#   kafka.sh status                     exit 0 if running, 3 if not
#   kafka.sh logs [-f|N]                broker log (last N lines, default 100; -f follows)
#   kafka.sh env                        print `export ...` lines for tests (eval "$(kafka.sh env)")
#   kafka.sh topics [NAME[:PARTITIONS[:RF]] ...]   create topics (no args: list them)
#   kafka.sh tool CLASS [ARGS...]       run a Kafka CLI class, e.g. org.apache.kafka.tools.TopicCommand
#   kafka.sh kcat-sasl [KCAT ARGS...]   kcat on the SASL_SSL listener as the client user (newer librdkafka)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# ---- configuration (env) ----------------------------------------------------------------
CACHE_DIR=${WIRETAG_KAFKA_CACHE:-$HOME/.cache/wiretag-kafka}
STATE_DIR=${WIRETAG_KAFKA_STATE:-${TMPDIR:-/tmp}/wiretag-kafka}
HOST=${WIRETAG_KAFKA_HOST:-127.0.0.1}
PLAIN_PORT=${WIRETAG_KAFKA_PORT:-19092}
SASL_PORT=${WIRETAG_KAFKA_SASL_PORT:-19093}
CONTROLLER_PORT=${WIRETAG_KAFKA_CONTROLLER_PORT:-19094}
SASL_USER=${WIRETAG_KAFKA_SASL_USER:-wiretag}
START_TIMEOUT=${WIRETAG_KAFKA_START_TIMEOUT:-90}
STOP_TIMEOUT=${WIRETAG_KAFKA_STOP_TIMEOUT:-30}
HEAP_OPTS=${WIRETAG_KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}
JVM_OPTS=${WIRETAG_KAFKA_JVM_OPTS:-}   # extra broker JVM flags, e.g. -XX:TieredStopAtLevel=1
EXTRA_PROPERTIES=${WIRETAG_KAFKA_EXTRA_PROPERTIES:-}
DEP_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.8.1
# Defaults live in pom.xml; these only override them when set.
KAFKA_VERSION=${WIRETAG_KAFKA_VERSION:-}
LOG4J_VERSION=${WIRETAG_KAFKA_LOG4J_VERSION:-}

PID_FILE=$STATE_DIR/broker.pid
MODE_FILE=$STATE_DIR/mode
BROKER_LOG=$STATE_DIR/logs/broker.log
CONFIG=$STATE_DIR/server.properties
DATA_DIR=$STATE_DIR/data
TLS_DIR=$STATE_DIR/tls
SASL_DIR=$STATE_DIR/sasl
ENV_FILE=$STATE_DIR/env

say() { printf 'kafka.sh: %s\n' "$*" >&2; }
die() { printf 'kafka.sh: ERROR: %s\n' "$*" >&2; exit 1; }

# ---- jars -------------------------------------------------------------------------------
pom_version() { sed -n "s:.*<$1>\(.*\)</$1>.*:\1:p" "$HERE/pom.xml" | head -1; }
EFFECTIVE_VERSION=${KAFKA_VERSION:-$(pom_version kafka.version)}
LIB_DIR=$CACHE_DIR/kafka-$EFFECTIVE_VERSION/lib
STAMP=$CACHE_DIR/kafka-$EFFECTIVE_VERSION/.stamp

want_stamp() {
  { cat "$HERE/pom.xml"; echo "$DEP_PLUGIN $KAFKA_VERSION $LOG4J_VERSION"; } | sha256sum | cut -d' ' -f1
}

cmd_fetch() {
  local want; want=$(want_stamp)
  if jars_cached; then
    say "jars cached: $LIB_DIR ($(ls "$LIB_DIR" | wc -l) jars)"
    return 0
  fi
  command -v mvn >/dev/null || die "mvn not found (apt-get install -y maven)"
  local tmp="$CACHE_DIR/kafka-$EFFECTIVE_VERSION/lib.tmp.$$"
  mkdir -p "$CACHE_DIR/kafka-$EFFECTIVE_VERSION"
  rm -rf "$tmp"
  local props=()
  [[ -n $KAFKA_VERSION ]] && props+=("-Dkafka.version=$KAFKA_VERSION")
  [[ -n $LOG4J_VERSION ]] && props+=("-Dlog4j2.version=$LOG4J_VERSION")
  say "resolving Kafka $EFFECTIVE_VERSION jars with Maven into $LIB_DIR"
  # -f on a copy so no target/ or other Maven droppings end up in the repository
  cp "$HERE/pom.xml" "$CACHE_DIR/kafka-$EFFECTIVE_VERSION/pom.xml"
  local mlog="$CACHE_DIR/kafka-$EFFECTIVE_VERSION/mvn.log"
  if ! mvn -B -Dstyle.color=never -f "$CACHE_DIR/kafka-$EFFECTIVE_VERSION/pom.xml" "${props[@]}" \
      "$DEP_PLUGIN:copy-dependencies" -DincludeScope=runtime -DoutputDirectory="$tmp" > "$mlog" 2>&1; then
    grep -E 'ERROR|BUILD' "$mlog" | tail -n 30 >&2
    rm -rf "$tmp"; die "mvn copy-dependencies failed (full log: $mlog)"
  fi
  compgen -G "$tmp/kafka_2.13-*.jar" >/dev/null || { rm -rf "$tmp"; die "no kafka_2.13 jar resolved"; }
  rm -rf "$LIB_DIR"; mv "$tmp" "$LIB_DIR"
  echo "$want" > "$STAMP"
  say "fetched $(ls "$LIB_DIR" | wc -l) jars into $LIB_DIR"
}

jars_cached() {
  [[ -f $STAMP && $(cat "$STAMP") == "$(want_stamp)" ]] && compgen -G "$LIB_DIR/kafka_2.13-*.jar" >/dev/null
}
need_jars() { jars_cached || cmd_fetch; }

# Short-lived JVM for CLI tools (quiet log4j, fast start)
run_tool() {
  java -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$HERE/tools-log4j2.properties" -cp "$LIB_DIR/*" "$@"
}

# ---- process helpers --------------------------------------------------------------------
# Prints the pid of *our* broker (pid file + cmdline check), or nothing.
broker_pid() {
  local pid
  if [[ -f $PID_FILE ]]; then
    pid=$(cat "$PID_FILE" 2>/dev/null || true)
    if [[ $pid =~ ^[0-9]+$ ]] && is_our_broker "$pid"; then echo "$pid"; return 0; fi
  fi
  # pid file lost/stale: look for a broker started with this state dir's config
  local d
  for d in /proc/[0-9]*; do
    pid=${d#/proc/}
    is_our_broker "$pid" && { echo "$pid"; return 0; }
  done
  return 0
}
is_our_broker() {
  local cmd
  cmd=$(tr '\0' ' ' 2>/dev/null < "/proc/$1/cmdline") || return 1
  [[ $cmd == *" kafka.Kafka $CONFIG"* ]]
}

port_user() { # prints a description of who listens on $1, or nothing
  local port=$1 out
  if command -v ss >/dev/null; then
    out=$(ss -H -ltnp "( sport = :$port )" 2>/dev/null || true)
    [[ -n $out ]] && { echo "$out"; return 0; }
    return 0
  fi
  if (exec 3<>"/dev/tcp/$HOST/$port") 2>/dev/null; then echo "something accepts connections on $HOST:$port"; fi
}

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

have_kcat() { [[ -z ${WIRETAG_KAFKA_NO_KCAT:-} ]] && command -v kcat >/dev/null; }

sasl_password() { cat "$SASL_DIR/$SASL_USER.password"; }

# metadata check on the plaintext listener
plain_ready() {
  if have_kcat; then
    kcat -L -b "$HOST:$PLAIN_PORT" -m 5 2>/dev/null | grep -q '1 brokers:'
  else
    java_ready "$HOST:$PLAIN_PORT"
  fi
}
# Java Admin client: list topics (rc 0 only if the broker answered; auth/TLS errors give rc 1).
# TopicCommand, not BrokerApiVersionsCommand: the latter takes 6-13 s per call here.
java_ready() {
  timeout 30 java -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -Dlog4j2.configurationFile="$HERE/tools-log4j2.properties" -cp "$LIB_DIR/*" \
    org.apache.kafka.tools.TopicCommand --bootstrap-server "$1" ${2:+--command-config "$2"} --list >/dev/null 2>&1
}
# metadata check on the SASL_SSL listener, authenticating as the client user and verifying the CA.
# Always the Java client: librdkafka < 2.6.1 (Debian bookworm's kcat ships 2.0.2) cannot do SCRAM
# against Kafka 4.x (it echoes the client nonce twice; 4.x checks the nonce strictly), see README.
sasl_ready() { java_ready "$HOST:$SASL_PORT" "$SASL_DIR/client.properties"; }

# FindCoordinator v0 for group "wiretag-warmup" over the plaintext listener, in raw Kafka protocol.
# The first call makes the broker create __consumer_offsets; it answers error 0 once the group
# coordinator is loaded. Done at start so the first consumer-group test doesn't pay for it: kafka-go
# backs off ~5 s after COORDINATOR_NOT_AVAILABLE. Prints the response's error code (hex, 4 digits).
find_coordinator() {
  local out
  out=$(
    exec 3<>"/dev/tcp/$HOST/$PLAIN_PORT" || exit 1
    # size=27 | api_key=10 api_version=0 correlation_id=1 client_id="w" | key="wiretag-warmup"
    printf '\x00\x00\x00\x1b\x00\x0a\x00\x00\x00\x00\x00\x01\x00\x01w\x00\x0ewiretag-warmup' >&3
    # response: size(4) correlation_id(4) error_code(2) ...
    timeout 5 head -c 10 <&3 | od -An -tx1 | tr -d ' \n'
  ) 2>/dev/null || return 1
  [[ ${#out} == 20 ]] || return 1
  echo "${out:16:4}"
}
warm_group_coordinator() {
  local deadline=$((SECONDS + 20)) code=
  while ((SECONDS < deadline)); do
    code=$(find_coordinator || true)
    [[ $code == 0000 ]] && return 0
    sleep 0.2
  done
  say "warning: group coordinator not available after 20s (last FindCoordinator error: ${code:-no answer})"
}

# ---- config generation ------------------------------------------------------------------
random_cluster_id() { # Kafka Uuid: 16 random bytes, URL-safe base64 without padding, must not start with '-'
  local id
  while :; do
    id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
    [[ $id != -* && ${#id} == 22 ]] && { echo "$id"; return; }
  done
}

random_secret() { head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 32; }

write_config() {
  local mode=$1
  local listeners="PLAINTEXT://$HOST:$PLAIN_PORT,CONTROLLER://$HOST:$CONTROLLER_PORT"
  local advertised="PLAINTEXT://$HOST:$PLAIN_PORT"
  local protomap="CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"
  if [[ $mode == sasl ]]; then
    listeners+=",SASL_SSL://$HOST:$SASL_PORT"
    advertised+=",SASL_SSL://$HOST:$SASL_PORT"
    protomap+=",SASL_SSL:SASL_SSL"
  fi
  : > "$CONFIG"; chmod 600 "$CONFIG"   # may hold the keystore password
  cat >> "$CONFIG" <<EOF
# generated by deploy/local-kafka/kafka.sh ($mode) -- fresh every start
process.roles=broker,controller
node.id=1
# static single-voter quorum: formatted WITHOUT --standalone
controller.quorum.voters=1@$HOST:$CONTROLLER_PORT
controller.listener.names=CONTROLLER
listeners=$listeners
advertised.listeners=$advertised
listener.security.protocol.map=$protomap
inter.broker.listener.name=PLAINTEXT
log.dirs=$DATA_DIR
num.partitions=1
default.replication.factor=1
auto.create.topics.enable=true
# single node: internal topics need RF 1 / min ISR 1 (defaults 3 / 2)
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
share.coordinator.state.topic.num.partitions=1
# tests: no 3 s delay before the first classic-group rebalance
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
EOF
  if [[ $mode == sasl ]]; then
    cat >> "$CONFIG" <<EOF
# SASL_SSL listener: SCRAM-SHA-512 users come from 'kafka-storage format --add-scram'
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.ssl.keystore.type=PKCS12
listener.name.sasl_ssl.ssl.keystore.location=$TLS_DIR/broker.p12
listener.name.sasl_ssl.ssl.keystore.password=$(cat "$TLS_DIR/keystore.password")
listener.name.sasl_ssl.ssl.key.password=$(cat "$TLS_DIR/keystore.password")
listener.name.sasl_ssl.ssl.client.auth=none
EOF
  fi
  if [[ -n $EXTRA_PROPERTIES ]]; then
    [[ -f $EXTRA_PROPERTIES ]] || die "WIRETAG_KAFKA_EXTRA_PROPERTIES=$EXTRA_PROPERTIES: no such file"
    { echo "# from $EXTRA_PROPERTIES"; cat "$EXTRA_PROPERTIES"; } >> "$CONFIG"
  fi
}

make_tls() { # throw-away CA + broker cert (SAN: localhost, 127.0.0.1, $HOST), PKCS12 keystore
  command -v openssl >/dev/null || die "openssl not found (apt-get install -y openssl)"
  mkdir -p "$TLS_DIR"; chmod 755 "$TLS_DIR"   # ca.pem readable by all; keys are 0600
  local d=$TLS_DIR san="DNS:localhost,IP:127.0.0.1"
  if [[ $HOST != 127.0.0.1 ]]; then
    if [[ $HOST =~ ^[0-9.]+$ || $HOST == *:* ]]; then san+=",IP:$HOST"; else san+=",DNS:$HOST"; fi
  fi
  (
    set -e; umask 077
    openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 -days 2 \
      -subj "/CN=wiretag throw-away test CA" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -keyout "$d/ca.key" -out "$d/ca.pem"
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 \
      -subj "/CN=localhost" -keyout "$d/broker.key" -out "$d/broker.csr"
    printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
      "extendedKeyUsage=serverAuth" "subjectAltName=$san" > "$d/broker.ext"
    openssl x509 -req -in "$d/broker.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
      -days 2 -sha256 -extfile "$d/broker.ext" -out "$d/broker.pem"
    random_secret > "$d/keystore.password"
    openssl pkcs12 -export -name broker -in "$d/broker.pem" -inkey "$d/broker.key" -certfile "$d/ca.pem" \
      -passout "file:$d/keystore.password" -out "$d/broker.p12"
    rm -f "$d/broker.csr" "$d/broker.ext" "$d/ca.srl"
  ) > "$STATE_DIR/logs/tls.log" 2>&1 || { cat "$STATE_DIR/logs/tls.log" >&2; die "openssl failed"; }
  chmod 644 "$d/ca.pem"
}

check_sasl_inputs() {
  # --add-scram takes 'MECH=[name=...,password=...]': keep the values free of its delimiters (, ] = ")
  [[ -z ${WIRETAG_KAFKA_SASL_PASSWORD:-} || $WIRETAG_KAFKA_SASL_PASSWORD =~ ^[A-Za-z0-9._~+/@%^-]+$ ]] \
    || die "WIRETAG_KAFKA_SASL_PASSWORD: use only A-Z a-z 0-9 . _ ~ + / @ % ^ -"
  [[ $SASL_USER =~ ^[A-Za-z0-9._-]+$ ]] || die "WIRETAG_KAFKA_SASL_USER: use only A-Z a-z 0-9 . _ -"
}

make_sasl_user() {
  mkdir -p "$SASL_DIR"; chmod 700 "$SASL_DIR"
  local pw=${WIRETAG_KAFKA_SASL_PASSWORD:-}
  [[ -n $pw ]] || pw=$(random_secret)
  (umask 077; printf '%s\n' "$pw" > "$SASL_DIR/$SASL_USER.password")
  chmod 600 "$SASL_DIR/$SASL_USER.password"
  (umask 077; cat > "$SASL_DIR/client.properties" <<EOF
# Java clients / Kafka CLI tools (--command-config) against $HOST:$SASL_PORT
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="$SASL_USER" password="$pw";
ssl.truststore.type=PEM
ssl.truststore.location=$TLS_DIR/ca.pem
EOF
  )
}

write_env() {
  local mode=$1
  {
    echo "export WIRETAG_TEST_BROKERS=$HOST:$PLAIN_PORT"
    if [[ $mode == sasl ]]; then
      echo "export WIRETAG_TEST_SASL_BROKERS=$HOST:$SASL_PORT"
      echo "export WIRETAG_TEST_SASL_MECHANISM=SCRAM-SHA-512"
      echo "export WIRETAG_TEST_SASL_USER=$SASL_USER"
      echo "export WIRETAG_TEST_SASL_PASSWORD_FILE=$SASL_DIR/$SASL_USER.password"
      echo "export WIRETAG_TEST_TLS_CA=$TLS_DIR/ca.pem"
    fi
  } > "$ENV_FILE"
}

# Starts the broker JVM on the config and storage in $STATE_DIR; sets BROKER_PID.
launch_broker() {
  # Background broker: stdin/stdout/stderr detached, and no other inherited fds (a CI runner's pipe kept
  # open by the broker would make the runner wait for it). The subshell execs java, so $! is the JVM's pid.
  (
    for fd in /proc/$BASHPID/fd/*; do
      fd=${fd##*/}; [[ $fd =~ ^[0-9]+$ ]] && ((fd > 2)) && eval "exec $fd>&-"
    done
    trap '' HUP
    # shellcheck disable=SC2086
    exec java $HEAP_OPTS -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
      -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true $JVM_OPTS \
      -Dlog4j2.configurationFile="$HERE/log4j2.properties" -Dkafka.logs.dir="$STATE_DIR/logs" \
      -cp "$LIB_DIR/*" kafka.Kafka "$CONFIG"
  ) >> "$BROKER_LOG" 2>&1 < /dev/null &
  BROKER_PID=$!
  echo "$BROKER_PID" > "$PID_FILE"
}

# Waits until the broker serves metadata (sasl mode: also authenticates on SASL_SSL). On failure or timeout
# prints the log tail, stops the broker (with $4 == --keep: keeping its storage) and exits 1.
wait_ready() {
  local mode=$1 pid=$2 t0=$3 keep=${4:-}
  local deadline=$((SECONDS + START_TIMEOUT)) ok=0 plain_at=0
  while ((SECONDS < deadline)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      say "broker process $pid exited during startup; last lines of $BROKER_LOG:"
      tail -n 60 "$BROKER_LOG" >&2
      rm -f "$PID_FILE"
      die "Kafka failed to start"
    fi
    # the listener socket is only bound once the broker is unfenced; then ask for metadata
    if port_open "$PLAIN_PORT" && plain_ready; then
      if [[ $mode == plain ]] || { port_open "$SASL_PORT" && sasl_ready; }; then ok=1; break; fi
      # plaintext serves but SASL_SSL does not: TLS/SCRAM misconfiguration, don't wait the full timeout
      ((plain_at > 0)) || plain_at=$SECONDS
      if ((SECONDS - plain_at > 20)); then
        say "plaintext listener is up but SASL_SSL $HOST:$SASL_PORT does not authenticate '$SASL_USER' after 20s"
        break
      fi
    fi
    sleep 0.5
  done
  if ((ok == 0)); then
    say "broker not ready after $((SECONDS - t0))s; last lines of $BROKER_LOG:"
    tail -n 60 "$BROKER_LOG" >&2
    if [[ $mode == sasl ]]; then
      say "SASL_SSL check output:"
      timeout 30 java -Xmx256m -Dlog4j2.configurationFile="$HERE/tools-log4j2.properties" -cp "$LIB_DIR/*" \
        org.apache.kafka.tools.TopicCommand --bootstrap-server "$HOST:$SASL_PORT" \
        --command-config "$SASL_DIR/client.properties" --list 2>&1 | grep -m 3 -E 'ERROR|Exception' >&2 || true
    fi
    cmd_stop $keep >&2 || true
    die "Kafka did not become ready (timeout WIRETAG_KAFKA_START_TIMEOUT=${START_TIMEOUT}s)"
  fi
}
# ---- subcommands ------------------------------------------------------------------------
cmd_start() {
  local mode=${1:-plain}
  [[ $mode == plain || $mode == sasl ]] || die "usage: kafka.sh start [plain|sasl]"
  command -v java >/dev/null || die "java not found (need OpenJDK 17+)"
  [[ $mode == plain ]] || check_sasl_inputs
  need_jars

  local pid; pid=$(broker_pid)
  if [[ -n $pid ]]; then
    say "a broker from $STATE_DIR is already running (pid $pid, mode $(cat "$MODE_FILE" 2>/dev/null || echo ?)); stopping it first (every start is fresh)"
    cmd_stop
  fi

  local p ports=("$PLAIN_PORT" "$CONTROLLER_PORT") busy=0 who
  [[ $mode == sasl ]] && ports+=("$SASL_PORT")
  for p in "${ports[@]}"; do
    who=$(port_user "$p")
    if [[ -n $who ]]; then say "port $p is already in use by: $who"; busy=1; fi
  done
  ((busy == 0)) || die "refusing to start: port(s) taken (change WIRETAG_KAFKA_PORT / _SASL_PORT / _CONTROLLER_PORT)"

  # fresh state (logs of the previous run are replaced too)
  rm -rf "$DATA_DIR" "$TLS_DIR" "$SASL_DIR" "$CONFIG" "$ENV_FILE" "$PID_FILE" "$MODE_FILE" "$STATE_DIR/version"
  mkdir -p "$DATA_DIR" "$STATE_DIR/logs"
  : > "$BROKER_LOG"

  local t0=$SECONDS scram=()
  if [[ $mode == sasl ]]; then
    make_tls
    make_sasl_user
    scram=(--add-scram "SCRAM-SHA-512=[name=$SASL_USER,password=$(sasl_password)]")
  fi
  write_config "$mode"

  local cid; cid=$(random_cluster_id)
  echo "$cid" > "$STATE_DIR/cluster.id"
  if ! run_tool kafka.tools.StorageTool format --cluster-id "$cid" --config "$CONFIG" "${scram[@]}" \
      > "$STATE_DIR/logs/format.log" 2>&1; then
    cat "$STATE_DIR/logs/format.log" >&2; die "kafka-storage format failed"
  fi

  launch_broker
  pid=$BROKER_PID
  echo "$mode" > "$MODE_FILE"
  echo "$EFFECTIVE_VERSION" > "$STATE_DIR/version"

  wait_ready "$mode" "$pid" "$t0"
  warm_group_coordinator
  write_env "$mode"
  say "Kafka $EFFECTIVE_VERSION ($mode) ready in $((SECONDS - t0))s, pid $pid, state $STATE_DIR"
  if [[ $mode == sasl ]]; then
    say "SASL_SSL bootstrap $HOST:$SASL_PORT  user $SASL_USER  password file $SASL_DIR/$SASL_USER.password  CA $TLS_DIR/ca.pem"
  fi
  say "env for tests: $ENV_FILE"
  # stdout: the plaintext bootstrap address (for scripts)
  echo "$HOST:$PLAIN_PORT"
}

cmd_stop() {
  local keep=
  case ${1:-} in
    --keep) keep=1 ;;
    "") ;;
    *) die "usage: kafka.sh stop [--keep]" ;;
  esac
  local pid; pid=$(broker_pid)
  if [[ -n $pid ]]; then
    say "stopping broker pid $pid (SIGTERM, up to ${STOP_TIMEOUT}s)"
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + STOP_TIMEOUT))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
      say "broker pid $pid still alive after ${STOP_TIMEOUT}s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    fi
    say "stopped"
  else
    say "not running"
  fi
  if [[ -n $keep ]]; then
    # a failure drill's outage: storage, config, secrets and env stay for `kafka.sh resume`
    rm -f "$PID_FILE"
    [[ -f $CONFIG ]] && say "storage kept in $DATA_DIR; 'kafka.sh resume' starts the broker on it again"
    return 0
  fi
  # storage and secrets go; logs/ stay for post-mortems (kafka.sh logs)
  rm -rf "$DATA_DIR" "$TLS_DIR" "$SASL_DIR" "$CONFIG" "$ENV_FILE" "$PID_FILE" "$MODE_FILE" "$STATE_DIR/cluster.id" "$STATE_DIR/version"
}

# Starts the broker again on the storage kept by `stop --keep` (topics, data, committed offsets, users,
# certificates and password unchanged). For failure drills: the broker goes away and comes back.
cmd_resume() {
  (($# == 0)) || die "usage: kafka.sh resume"
  [[ -f $CONFIG && -f $MODE_FILE && -d $DATA_DIR ]] || die "nothing to resume in $STATE_DIR (kafka.sh start; kafka.sh stop --keep)"
  local mode pid; mode=$(cat "$MODE_FILE")
  pid=$(broker_pid)
  if [[ -n $pid ]]; then say "already running (pid $pid)"; echo "$HOST:$PLAIN_PORT"; return 0; fi
  need_jars
  local p ports=("$PLAIN_PORT" "$CONTROLLER_PORT") busy=0 who
  [[ $mode == sasl ]] && ports+=("$SASL_PORT")
  for p in "${ports[@]}"; do
    who=$(port_user "$p")
    if [[ -n $who ]]; then say "port $p is already in use by: $who"; busy=1; fi
  done
  ((busy == 0)) || die "refusing to resume: port(s) taken"
  local t0=$SECONDS
  echo "--- kafka.sh resume $(date -u +%FT%TZ) ---" >> "$BROKER_LOG"
  launch_broker
  pid=$BROKER_PID
  wait_ready "$mode" "$pid" "$t0" --keep
  warm_group_coordinator
  say "Kafka ($mode) resumed on kept storage in $((SECONDS - t0))s, pid $pid"
  echo "$HOST:$PLAIN_PORT"
}

cmd_status() {
  local pid; pid=$(broker_pid)
  if [[ -z $pid ]]; then echo "not running (state $STATE_DIR)"; return 3; fi
  local mode; mode=$(cat "$MODE_FILE" 2>/dev/null || echo "?")
  echo "running: pid $pid, mode $mode, Kafka $(cat "$STATE_DIR/version" 2>/dev/null || echo ?), state $STATE_DIR"
  echo "  PLAINTEXT  $HOST:$PLAIN_PORT"
  [[ $mode == sasl ]] && echo "  SASL_SSL   $HOST:$SASL_PORT (SCRAM-SHA-512 user $SASL_USER, CA $TLS_DIR/ca.pem, password $SASL_DIR/$SASL_USER.password)"
  echo "  CONTROLLER $HOST:$CONTROLLER_PORT"
  if port_open "$PLAIN_PORT"; then echo "  plaintext listener accepts connections"; else echo "  plaintext listener NOT accepting connections"; return 1; fi
}

cmd_logs() {
  [[ -f $BROKER_LOG ]] || die "no log at $BROKER_LOG"
  case ${1:-100} in
    -f) tail -n 50 -F "$BROKER_LOG" ;;
    *[!0-9]*) die "usage: kafka.sh logs [-f|N]" ;;
    *) tail -n "${1:-100}" "$BROKER_LOG" ;;
  esac
}

cmd_env() {
  [[ -f $ENV_FILE ]] || die "not running (no $ENV_FILE)"
  cat "$ENV_FILE"
}

cmd_topics() {
  need_jars
  port_open "$PLAIN_PORT" || die "no broker on $HOST:$PLAIN_PORT (kafka.sh start)"
  if (($# == 0)); then
    run_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$HOST:$PLAIN_PORT" --list
    return
  fi
  local spec name parts rf
  for spec in "$@"; do
    IFS=: read -r name parts rf <<< "$spec"
    [[ -n $name ]] || die "bad topic spec '$spec' (NAME[:PARTITIONS[:REPLICATION]])"
    parts=${parts:-1}; rf=${rf:-1}
    run_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$HOST:$PLAIN_PORT" \
      --create --if-not-exists --topic "$name" --partitions "$parts" --replication-factor "$rf" >&2 \
      || die "creating topic $name failed"
  done
}

# kcat against the SASL_SSL listener. Debian bookworm's kcat links librdkafka 2.0.2, whose SCRAM is rejected
# by Kafka 4.x (fixed in librdkafka 2.6.1), so this runs the same kcat binary with the librdkafka bundled in
# the confluent-kafka wheel from PyPI (cached; needs pip once).
RDKAFKA_WHEEL=${WIRETAG_KAFKA_RDKAFKA_WHEEL:-confluent-kafka==2.16.1}
RDKAFKA_DIR=$CACHE_DIR/librdkafka-${RDKAFKA_WHEEL#*==}
fetch_rdkafka() {
  [[ -f $RDKAFKA_DIR/librdkafka.so.1 ]] && return 0
  command -v python3 >/dev/null || die "python3 needed to fetch librdkafka"
  local tmp; tmp=$(mktemp -d)
  say "fetching librdkafka from the $RDKAFKA_WHEEL wheel (PyPI)"
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.11 \
      --platform manylinux_2_28_x86_64 -d "$tmp" "$RDKAFKA_WHEEL" >&2 || { rm -rf "$tmp"; die "pip download failed"; }
  mkdir -p "$RDKAFKA_DIR"
  python3 - "$tmp"/*.whl "$RDKAFKA_DIR/librdkafka.so.1" <<'PY' || { rm -rf "$tmp"; die "no librdkafka in wheel"; }
import sys, zipfile, shutil
z = zipfile.ZipFile(sys.argv[1])
name = next(n for n in z.namelist() if "/librdkafka" in n and ".so" in n)
with z.open(name) as src, open(sys.argv[2], "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
  rm -rf "$tmp"
}
cmd_kcat_sasl() {
  command -v kcat >/dev/null || die "kcat not installed (apt-get install -y kcat)"
  [[ -f $SASL_DIR/$SASL_USER.password ]] || die "no SASL broker running (kafka.sh start sasl)"
  fetch_rdkafka
  LD_LIBRARY_PATH=$RDKAFKA_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} exec kcat -b "$HOST:$SASL_PORT" \
    -X security.protocol=SASL_SSL -X sasl.mechanisms=SCRAM-SHA-512 \
    -X sasl.username="$SASL_USER" -X sasl.password="$(sasl_password)" -X ssl.ca.location="$TLS_DIR/ca.pem" "$@"
}

cmd_tool() {
  (($# >= 1)) || die "usage: kafka.sh tool CLASS [ARGS...]"
  need_jars
  run_tool "$@"
}

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; }

case ${1:-} in
  fetch) shift; cmd_fetch "$@" ;;
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  resume) shift; cmd_resume "$@" ;;
  status) shift; cmd_status "$@" ;;
  logs) shift; cmd_logs "$@" ;;
  env) shift; cmd_env "$@" ;;
  topics) shift; cmd_topics "$@" ;;
  tool) shift; cmd_tool "$@" ;;
  kcat-sasl) shift; cmd_kcat_sasl "$@" ;;
  -h|--help|help|"") usage ;;
  *) usage >&2; exit 2 ;;
esac
