import Foundation
import Batchwise
import Experiments
@testable import BatchwiseCLI

func placeholder<T>() -> T { fatalError("documentation snippets are type-checked, never run") }
