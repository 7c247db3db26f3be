/** The TCP data plane between TaskManagers: credit-based channels over authenticated, multiplexed connections. */
// Wire format (all integers big-endian), one frame = [u32 length][u8 type][payload], where length
// counts the type byte and the payload; frames above the maximum size (default 1 MiB) are refused.
//   HELLO      c→s  [u16 version][32 nonce]
//   CHALLENGE  s→c  [u16 version][32 nonce][32 HMAC proof]
//   RESPONSE   c→s  [32 HMAC proof]
//   WELCOME    s→c  (empty)                       — only now may the frames below flow
//   SUBSCRIBE  c→s  [u32 channelId][u32 initialCredit][utf8 channelKey]
//   BUFFER     s→c  [u32 channelId][u8 flags: 1 = more fragments follow][bytes]
//   EVENT      s→c  [u32 channelId][msgpack ChannelEvent]
//   CREDIT     c→s  [u32 channelId][u32 n]
//   CLOSE      both [u32 channelId, 0xffffffff = the connection][utf8 reason]
// Connections: one per (consumer process, data server), carrying all channels between them; the
// consumer numbers its channels (channelId) so data frames do not repeat the channel key.
export { TcpDataServer, type TcpDataServerOptions } from './tcp-data-server.js';
export { TcpDataClient, type RemoteChannel, type TcpDataClientOptions } from './tcp-data-client.js';
export type { TcpAddress, TcpTransportOptions } from './frame-connection.js';
export { internalTlsFromConfiguration, type InternalTls } from './internal-tls.js';
