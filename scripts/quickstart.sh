#!/usr/bin/env bash
# The README's quick start, as a script: `bash scripts/quickstart.sh` with the server running
# (`MQCHAT_MQTT_PORT=1884 npm start`), from the folder it runs in (it reads data/operator-key).
# Another server: set HTTP, MQTT_PORT and OP (the operator key) first. test/quickstart.test.ts
# checks that the README shows exactly this, and runs it twice against a real server.
set -euo pipefail
HTTP=${HTTP:-http://localhost:8080} MQTT_PORT=${MQTT_PORT:-1884} OP=${OP:-$(cat data/operator-key)}
json() { sed -E "s/.*\"$1\":\"([^\"]+)\".*/\1/"; }   # pick a string field from JSON

# 1. Create a domain (your website). Its apiKey and tokenSecret are shown only now. On a
#    second run it exists already (409 domain_exists): the operator makes it a new apiKey,
#    and the old one stops working.
DOMAIN=$(curl -s -X POST $HTTP/api/v1/domains -H "Authorization: Bearer $OP" \
  -H 'Content-Type: application/json' -d '{"id":"acme","name":"Acme Ltd"}')
echo "$DOMAIN"   # {"id":"acme","name":"Acme Ltd","apiKey":"mqk_…","tokenSecret":"…"}
case "$DOMAIN" in
  *'"domain_exists"'*) DOMAIN=$(curl -s -X POST $HTTP/api/v1/domains/acme/keys/rotate -H "Authorization: Bearer $OP") ;;
esac
KEY=$(echo "$DOMAIN" | json apiKey)
echo "KEY=$KEY"   # acme's domain key, for the examples in docs/ (a second run makes a new one)

# 2. A token for each of two users (the ids your site already uses).
T2=$(curl -s -X POST $HTTP/api/v1/domains/acme/users/2/token -H "Authorization: Bearer $KEY" | json token)
T3601=$(curl -s -X POST $HTTP/api/v1/domains/acme/users/3601/token -H "Authorization: Bearer $KEY" | json token)

# 3. User 2 listens to its acks; then user 3601 to its inbox and to who is online.
mosquitto_sub -p $MQTT_PORT -u acme/2 -P "$T2" -v -t 'chat/acme/2/ack' & L2=$!
trap 'kill $L2 $L3601 2>/dev/null || true' EXIT   # the listeners stop with the script
sleep 1
mosquitto_sub -p $MQTT_PORT -u acme/3601 -P "$T3601" -v -t 'chat/acme/3601/inbox' -t 'chat/acme/+/presence' & L3601=$!
sleep 1   # let both subscribe
# chat/acme/2/presence {"userid":2,"status":"online","timestamp":1602511580}
# chat/acme/3601/presence {"userid":3601,"status":"online","timestamp":1602511581}
# (retained: on chat/acme/+/presence a subscriber gets everyone who is not offline)

# 4. User 2 sends a message.
mosquitto_pub -p $MQTT_PORT -u acme/2 -P "$T2" -q 1 -t chat/acme/2/send \
  -m '{"to_userid":3601,"message":"ok","type":0,"cid":"first"}'
sleep 1
# chat/acme/3601/inbox {"from_userid":2,"message":{"id":1,"message":"ok","p1":"","p2":"","p3":"","timestamp":1602511586,"type":0},"to_userid":3601}
# chat/acme/2/ack {"cid":"first","event":{…the same event…}}

# 5. History and presence over the API.
curl -s "$HTTP/api/v1/domains/acme/messages?userid=2&peer=3601" -H "Authorization: Bearer $KEY"; echo
curl -s "$HTTP/api/v1/domains/acme/presence?status=online" -H "Authorization: Bearer $KEY"; echo

# 6. Stop the listeners. Past the grace time (MQCHAT_PRESENCE_GRACE_MS, 3 s) user 2 is
#    offline: one user's own presence topic says so (the wildcard now leaves it out).
kill $L2 $L3601
sleep 4
mosquitto_sub -p $MQTT_PORT -u acme/3601 -P "$T3601" -v -t 'chat/acme/2/presence' -C 1 -W 5
# chat/acme/2/presence {"userid":2,"status":"offline","timestamp":1602511590}
