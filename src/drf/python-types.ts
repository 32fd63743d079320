/** DRF's messages name the Python type of a value (`received str`); JSON values map to these. */
const PYTHON_TYPE_NAMES = new Map<string, string>([
  ['string', 'str'],
  ['boolean', 'bool'],
  ['object', 'dict'],
]);

/** The name Python gives the type of a parsed JSON value: str, int, float, bool, list, dict, NoneType. */
export function pythonTypeName(value: unknown): string {
  if (value === null) return 'NoneType';
  if (Array.isArray(value)) return 'list';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  return PYTHON_TYPE_NAMES.get(typeof value) ?? typeof value;
}
