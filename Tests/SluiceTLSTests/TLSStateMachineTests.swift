import NIOCore
import NIOEmbedded
@testable import SluiceTLS
import Testing

/// The lifecycle decisions on their own, without OpenSSL or a channel.
@Suite("TLS state machine")
struct TLSStateMachineTests {
    let loop = EmbeddedEventLoop()

    @Test func clientStartsTheHandshakeOnActiveAndServerWaitsForTheClientHello() {
        var client = TLSStateMachine(role: .client, pendingPlaintextBytesMax: 10)
        var server = TLSStateMachine(role: .server, pendingPlaintextBytesMax: 10)
        guard case .startHandshake = client.channelActive() else { Issue.record("client"); return }
        guard case .awaitClientHello = server.channelActive() else { Issue.record("server"); return }
        guard case .none = client.channelActive() else { Issue.record("active twice starts twice"); return }
    }

    @Test func closeDuringTheHandshakeFailsTheHeldWritesAndClosesAtOnce() {
        var machine = TLSStateMachine(role: .client, pendingPlaintextBytesMax: 10)
        _ = machine.channelActive()
        let promise = loop.makePromise(of: Void.self)
        guard case .buffered = machine.write(ByteBuffer(string: "abc"), promise: promise) else {
            Issue.record("write during the handshake is held")
            return
        }
        guard case .closeNow(let failing) = machine.close(promise: nil), failing.count == 1 else {
            Issue.record("expected closeNow failing one write")
            return
        }
        promise.succeed() // the handler would fail it; complete it so the loop has no dangling promise
    }

    @Test func secondCloseJoinsTheFirstAndPeerCloseNotifyCompletesIt() {
        var machine = TLSStateMachine(role: .server, pendingPlaintextBytesMax: 10)
        _ = machine.channelActive()
        _ = machine.handshakeCompleted()
        let first = loop.makePromise(of: Void.self)
        let second = loop.makePromise(of: Void.self)
        guard case .sendCloseNotify = machine.close(promise: first) else { Issue.record("first close"); return }
        guard case .joinClose(_, let onto) = machine.close(promise: second), onto.futureResult === first.futureResult
        else { Issue.record("second close joins the first"); return }
        guard case .close(let promise?) = machine.closeNotifyReceived(), promise.futureResult === first.futureResult
        else { Issue.record("peer close_notify completes the first close"); return }
        guard case .none = machine.closeNotifyWaitElapsed() else { Issue.record("wait after close"); return }
        first.succeed()
        second.succeed()
    }

    @Test func endOfStreamIsUncleanOnlyAfterTheHandshakeAndBeforeAnyClose() {
        var active = TLSStateMachine(role: .client, pendingPlaintextBytesMax: 10)
        _ = active.channelActive()
        _ = active.handshakeCompleted()
        guard case .reportUncleanShutdown = active.channelInactive() else { Issue.record("active"); return }
        guard case .none = active.channelInactive() else { Issue.record("reported twice"); return }

        var closing = TLSStateMachine(role: .client, pendingPlaintextBytesMax: 10)
        _ = closing.channelActive()
        _ = closing.handshakeCompleted()
        _ = closing.close(promise: nil)
        guard case .completeClose = closing.channelInactive() else { Issue.record("closing"); return }
    }

    @Test func firstBytesThatAreNotATLSRecordHeaderAreRejectedEvenWhenSplit() {
        var machine = TLSStateMachine(role: .server, pendingPlaintextBytesMax: 10)
        _ = machine.channelActive()
        guard case .continueHandshake = machine.channelRead(ByteBuffer(bytes: [0x16])) else {
            Issue.record("a handshake content type alone is fine")
            return
        }
        guard case .rejectNotTLS(let bytes) = machine.channelRead(ByteBuffer(bytes: [0x00, 0x00])) else {
            Issue.record("major version 0 is not TLS")
            return
        }
        #expect(bytes == [0x16, 0x00, 0x00])
        guard case .drop = machine.channelRead(ByteBuffer(bytes: [0x16])) else { Issue.record("closed"); return }
    }
}
