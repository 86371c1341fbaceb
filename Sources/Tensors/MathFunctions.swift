// libm entry points shared by the numeric code; kept in one place so the platform
// switch lives once. Inlinable, so callers in other modules call libm directly: a sigmoid
// over a small batch made hundreds of calls through a one-line wrapper per step.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@inlinable func _expf(_ x: Float) -> Float { expf(x) }
@inlinable func _logf(_ x: Float) -> Float { logf(x) }
@inlinable func _log1pf(_ x: Float) -> Float { log1pf(x) }
@inlinable func _tanhf(_ x: Float) -> Float { tanhf(x) }
@inlinable func _exp(_ x: Double) -> Double { exp(x) }
@inlinable func _log1p(_ x: Double) -> Double { log1p(x) }
@inlinable func _tanh(_ x: Double) -> Double { tanh(x) }
