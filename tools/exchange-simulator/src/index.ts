export { startSimulator, Simulator, FAULT_TYPES } from './simulator';
export type { FaultRequest, FaultResult, FaultType, SimulatorState, ExchangeState, SymbolTapeState, SimulatorUrls } from './simulator';
export { parseArgs, DEFAULT_OPTIONS, UsageError } from './options';
export type { SimulatorOptions, Exchange } from './options';
export { createLog } from './log';
export type { Log } from './log';
export { WRONG_TYPE_ID_BASE } from './binance';
