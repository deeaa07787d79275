"""A device as Oracle's Python samples write one, with paho-mqtt speaking MQTT 5: it answers
the first command on /endpoints/1234 with {"paho":5} on /endpoints/4321, then exits.
Usage: python3 paho-v5-device.py <port> <ca file> <user name> <password>"""
import ssl
import sys

import paho.mqtt.client as mqtt
from paho.mqtt.properties import Properties
from paho.mqtt.packettypes import PacketTypes

port, ca, username, password = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
client = mqtt.Client(client_id="paho-v5", protocol=mqtt.MQTTv5)
client.tls_set(ca_certs=ca, tls_version=ssl.PROTOCOL_TLS_CLIENT)
client.username_pw_set(username, password)


def on_connect(client, userdata, flags, reason_code, properties):
    print("connected", reason_code, flush=True)
    if reason_code != 0:
        sys.exit(1)
    client.subscribe("/endpoints/1234", qos=1)


def on_message(client, userdata, message):
    print("command", message.payload.decode(), flush=True)
    client.publish("/endpoints/4321", '{"paho":5}', qos=1)


def on_publish(client, userdata, mid):
    # The PUBACK of the response came back: the platform has taken it.
    client.disconnect()


client.on_connect = on_connect
client.on_message = on_message
client.on_publish = on_publish
connect_properties = Properties(PacketTypes.CONNECT)
connect_properties.SessionExpiryInterval = 0
client.connect("localhost", port, keepalive=60, clean_start=True, properties=connect_properties)
client.loop_forever()
