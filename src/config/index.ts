// Public face of the config module: parse/load/format and the Config types.
export { parseConfig, loadConfigFile, type ParseOptions } from './load.ts'
export { formatErrors } from './format.ts'
export type * from './types.ts'
