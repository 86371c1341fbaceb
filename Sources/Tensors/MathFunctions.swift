// libm entry points shared by the numeric code; kept in one place so the platform
// switch lives once. Inlinable, so callers in other modules call libm directly: a sigmoid
// over a small batch made hundreds of calls through a one-line wrapper per step.
#if canImport(Glibc)
import Glibc
@inlinable func _expf(_ x: Float) -> Float { Glibc.expf(x) }
@inlinable func _logf(_ x: Float) -> Float { Glibc.logf(x) }
@inlinable func _log1pf(_ x: Float) -> Float { Glibc.log1pf(x) }
@inlinable func _tanhf(_ x: Float) -> Float { Glibc.tanhf(x) }
@inlinable func _exp(_ x: Double) -> Double { Glibc.exp(x) }
@inlinable func _log1p(_ x: Double) -> Double { Glibc.log1p(x) }
@inlinable func _tanh(_ x: Double) -> Double { Glibc.tanh(x) }
#elseif canImport(Darwin)
import Darwin
@inlinable func _expf(_ x: Float) -> Float { Darwin.expf(x) }
@inlinable func _logf(_ x: Float) -> Float { Darwin.logf(x) }
@inlinable func _log1pf(_ x: Float) -> Float { Darwin.log1pf(x) }
@inlinable func _tanhf(_ x: Float) -> Float { Darwin.tanhf(x) }
@inlinable func _exp(_ x: Double) -> Double { Darwin.exp(x) }
@inlinable func _log1p(_ x: Double) -> Double { Darwin.log1p(x) }
@inlinable func _tanh(_ x: Double) -> Double { Darwin.tanh(x) }
#endif
