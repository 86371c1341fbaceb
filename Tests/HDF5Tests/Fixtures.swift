import Foundation
@testable import HDF5

/// Paths of the committed fixtures, found relative to this source file.
enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fixtures/hdf5")
    static let h5pyWritten = directory.appendingPathComponent("h5py_written.h5")
    static let h5pyExpected = directory.appendingPathComponent("h5py_expected.json")
    static let batchwiseWritten = directory.appendingPathComponent("batchwise_written.h5")
}

/// What make_fixtures.py recorded about one dataset (values decoded by dtype).
struct ExpectedDataset: Decodable {
    enum Values { case float([Double]), int([Int64]), uint([UInt64]), bool([Bool]) }
    var dtype: String
    var shape: [Int]
    var chunks: [Int]?
    var compression: String?
    var values: Values

    private enum Keys: String, CodingKey { case dtype, shape, chunks, compression, values }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Keys.self)
        dtype = try container.decode(String.self, forKey: .dtype)
        shape = try container.decode([Int].self, forKey: .shape)
        chunks = try container.decodeIfPresent([Int].self, forKey: .chunks)
        compression = try container.decodeIfPresent(String.self, forKey: .compression)
        switch dtype {
        case "float32", "float64": values = .float(try container.decode([Double].self, forKey: .values))
        case "bool": values = .bool(try container.decode([Bool].self, forKey: .values))
        case let name where name.hasPrefix("uint"): values = .uint(try container.decode([UInt64].self, forKey: .values))
        default: values = .int(try container.decode([Int64].self, forKey: .values))
        }
    }
}

struct ExpectedFixture: Decodable {
    var datasets: [String: ExpectedDataset]
    var attributes: [String: ExpectedAttribute]

    static func load() throws -> ExpectedFixture {
        try JSONDecoder().decode(ExpectedFixture.self, from: Data(contentsOf: Fixtures.h5pyExpected))
    }
}

struct ExpectedAttribute: Decodable {
    var kind: String
    var value: HDF5AttributeJSON
}
