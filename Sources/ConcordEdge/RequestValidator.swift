import ConcordModels
import Foundation

/// Checks a request body at the edge, so a malformed or oversized request is refused without
/// a round trip to the cell (which checks again).
enum RequestValidator {
    static func validate(_ endpoint: Endpoint, body: Data) throws {
        func check<T: Decodable>(_ type: T.Type, _ validate: (T) throws -> Void) throws {
            try validate(try WireJSON.decodeBody(type, from: body))
        }
        switch endpoint {
        case .createMessage: try check(MessageCreateRequest.self, Validation.validate)
        case .editMessage: try check(MessageEditRequest.self, Validation.validate)
        case .createGuild: try check(GuildCreateRequest.self, Validation.validate)
        case .modifyGuild: try check(GuildModifyRequest.self, Validation.validate)
        case .createChannel: try check(ChannelCreateRequest.self, Validation.validate)
        case .modifyChannel: try check(ChannelModifyRequest.self, Validation.validate)
        case .register: try check(RegisterRequest.self, Validation.validate)
        case .login: try check(LoginRequest.self) { _ in }
        case .createInvite: if !body.isEmpty { try check(InviteCreateRequest.self, Validation.validate) }
        case .bulkAck: try check(BulkAckRequest.self, Validation.validate)
        case .createDM: try check(DMCreateRequest.self) { _ in }
        default: break
        }
    }
}
