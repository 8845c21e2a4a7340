#nullable enable

using Meadow;
using Meadow.Devices;
using Meadow.Hardware;
using MQTTnet;
using MQTTnet.Client;
using MQTTnet.Client.Options;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using System;
using System.Diagnostics;
using System.Security.Authentication;
using System.Threading;
using System.Threading.Tasks;

namespace MeadowApp;

// Sends telemetry to Azure IoT Hub over MQTT 3.1.1 / TLS 1.2, authenticated by the
// X.509 client certificate that hatch-meadow provisions onto the board. app.config.yaml
// names the hub (my-meadow-hub.azure-devices.net) and the device (meadow-example-001).
public class MeadowApp : App<F7FeatherV2>
{
    private const int MqttsPort = 8883;
    private const string ApiVersion = "2021-04-12";
    private static readonly TimeSpan TelemetryInterval = TimeSpan.FromSeconds(10);
    private const int MaxConnectAttempts = 5;

    private readonly Stopwatch uptime = Stopwatch.StartNew();
    private string? hubName;
    private string? deviceId;
    private int telemetryStarted; // 0/1 guard: NetworkConnected fires again after every reconnect

    public override Task Initialize()
    {
        Resolver.Log.Info("Initialize...");

        // Keys from app.config.yaml (IotHub: Name / DeviceId) land in Settings under their dotted path.
        Settings.TryGetValue("IotHub.Name", out hubName);
        Settings.TryGetValue("IotHub.DeviceId", out deviceId);
        if (string.IsNullOrWhiteSpace(hubName) || string.IsNullOrWhiteSpace(deviceId))
        {
            Resolver.Log.Error("Missing IotHub.Name and/or IotHub.DeviceId in app.config.yaml; telemetry disabled.");
            return Task.CompletedTask;
        }

        // WiFi is brought up by the OS (meadow.config.yaml: Coprocessor.AutomaticallyStartNetwork).
        var wifi = Device.NetworkAdapters.Primary<IWiFiNetworkAdapter>();
        if (wifi == null)
        {
            Resolver.Log.Error("No WiFi adapter found; telemetry disabled.");
            return Task.CompletedTask;
        }
        wifi.NetworkConnected += OnNetworkConnected;
        if (wifi.IsConnected) { OnNetworkConnected(wifi, null!); } // already up before we subscribed

        return Task.CompletedTask;
    }

    public override Task Run()
    {
        Resolver.Log.Info($"Run: waiting for the network, then sending telemetry as '{deviceId}' to '{hubName}'.");
        return Task.CompletedTask;
    }

    private async void OnNetworkConnected(INetworkAdapter sender, NetworkConnectionEventArgs e)
    {
        if (Interlocked.Exchange(ref telemetryStarted, 1) == 1) { return; }

        Resolver.Log.Info($"Network connected ({sender.IpAddress}).");
        try
        {
            await SendTelemetryLoop();
        }
        catch (Exception ex)
        {
            // async void: never let an exception escape and take down the app.
            Resolver.Log.Error($"Telemetry loop stopped: {ex.Message}");
        }
        finally
        {
            // Allow the next NetworkConnected event to start a fresh attempt.
            Interlocked.Exchange(ref telemetryStarted, 0);
        }
    }

    private async Task SendTelemetryLoop()
    {
        string host = $"{hubName}.azure-devices.net";

        // NOTE: there is deliberately no certificate code here. Meadow OS attaches the
        // client_cert.pem / private_key.pem (+ private_key_pass.txt) it imported at boot
        // to any TLS connection whose server requests a client certificate.
        // X.509 auth needs no SAS token, so no password is sent.
        var options = new MqttClientOptionsBuilder()
            .WithClientId(deviceId)
            .WithTcpServer(host, MqttsPort)
            .WithCredentials($"{host}/{deviceId}/?api-version={ApiVersion}", (string?)null)
            .WithProtocolVersion(MqttProtocolVersion.V311)
            .WithTls(new MqttClientOptionsBuilderTlsParameters
            {
                UseTls = true,
                SslProtocol = SslProtocols.Tls12,
            })
            .Build();

        using var mqttClient = new MqttFactory().CreateMqttClient();
        string topic = $"devices/{deviceId}/messages/events/";

        for (int messageId = 1; ; messageId++)
        {
            if (!mqttClient.IsConnected && !await ConnectWithRetry(mqttClient, options)) { return; }

            string payload = "{\"uptimeSeconds\":" + (long)uptime.Elapsed.TotalSeconds + ",\"messageId\":" + messageId + "}";
            var message = new MqttApplicationMessageBuilder()
                .WithTopic(topic)
                .WithPayload(payload)
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce) // IoT Hub rejects QoS 2
                .Build();

            try
            {
                await mqttClient.PublishAsync(message, CancellationToken.None);
                Resolver.Log.Info($"Sent {payload}");
            }
            catch (Exception ex)
            {
                // Connection dropped; the next iteration reconnects.
                Resolver.Log.Error($"Publish failed: {ex.Message}");
            }

            await Task.Delay(TelemetryInterval);
        }
    }

    /// <summary>Bounded retry with exponential backoff (2, 4, 8, 16 s).</summary>
    private static async Task<bool> ConnectWithRetry(IMqttClient client, IMqttClientOptions options)
    {
        var delay = TimeSpan.FromSeconds(2);
        for (int attempt = 1; attempt <= MaxConnectAttempts; attempt++)
        {
            try
            {
                Resolver.Log.Info($"Connecting to IoT Hub (attempt {attempt}/{MaxConnectAttempts})...");
                await client.ConnectAsync(options, CancellationToken.None);
                Resolver.Log.Info("Connected to IoT Hub.");
                return true;
            }
            catch (Exception ex)
            {
                Resolver.Log.Error($"Connect failed: {ex.Message}");
            }

            if (attempt < MaxConnectAttempts)
            {
                await Task.Delay(delay);
                delay = TimeSpan.FromTicks(delay.Ticks * 2);
            }
        }

        Resolver.Log.Error("Could not connect to IoT Hub: check client_cert.pem / private_key.pem / " +
                           "private_key_pass.txt; run `hatch-meadow check`.");
        return false;
    }
}
