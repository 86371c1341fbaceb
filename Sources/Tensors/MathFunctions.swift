// libm entry points shared by the numeric code; kept in one place so the platform
// switch lives once.
#if canImport(Glibc)
import Glibc
@usableFromInline func _expf(_ x: Float) -> Float { Glibc.expf(x) }
@usableFromInline func _logf(_ x: Float) -> Float { Glibc.logf(x) }
@usableFromInline func _log1pf(_ x: Float) -> Float { Glibc.log1pf(x) }
@usableFromInline func _tanhf(_ x: Float) -> Float { Glibc.tanhf(x) }
@usableFromInline func _exp(_ x: Double) -> Double { Glibc.exp(x) }
@usableFromInline func _log1p(_ x: Double) -> Double { Glibc.log1p(x) }
@usableFromInline func _tanh(_ x: Double) -> Double { Glibc.tanh(x) }
#elseif canImport(Darwin)
import Darwin
@usableFromInline func _expf(_ x: Float) -> Float { Darwin.expf(x) }
@usableFromInline func _logf(_ x: Float) -> Float { Darwin.logf(x) }
@usableFromInline func _log1pf(_ x: Float) -> Float { Darwin.log1pf(x) }
@usableFromInline func _tanhf(_ x: Float) -> Float { Darwin.tanhf(x) }
@usableFromInline func _exp(_ x: Double) -> Double { Darwin.exp(x) }
@usableFromInline func _log1p(_ x: Double) -> Double { Darwin.log1p(x) }
@usableFromInline func _tanh(_ x: Double) -> Double { Darwin.tanh(x) }
#endif
