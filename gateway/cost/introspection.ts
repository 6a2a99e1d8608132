/**
 * Sizes of the introspection schema's lists, which no `@listSize` can describe: measured on the
 * schema being introspected, as averages (rounded up) over the elements that hold them, so that a
 * query selecting the same fields under every element (GraphiQL's introspection query) costs what
 * its answer really holds: `types` is the number of types, `fields` under it the number of fields
 * per type, `args` under those the number of arguments per field, and so on.
 */
import { isEnumType, isInputObjectType, isInterfaceType, isObjectType, isUnionType, type GraphQLSchema } from 'graphql';

const measured = new WeakMap<GraphQLSchema, ReadonlyMap<string, number>>();

const average = (total: number, count: number) => (count === 0 ? 0 : Math.ceil(total / count));

function measure(schema: GraphQLSchema): Map<string, number> {
  const types = Object.values(schema.getTypeMap());
  const directives = schema.getDirectives();
  let fields = 0;
  let args = 0;
  let interfaces = 0;
  let possibleTypes = 0;
  let enumValues = 0;
  let inputFields = 0;
  for (const type of types) {
    if (isObjectType(type) || isInterfaceType(type)) {
      const own = Object.values(type.getFields());
      fields += own.length;
      for (const f of own) args += f.args.length;
      interfaces += type.getInterfaces().length;
    }
    if (isInterfaceType(type) || isUnionType(type)) possibleTypes += schema.getPossibleTypes(type).length;
    if (isEnumType(type)) enumValues += type.getValues().length;
    if (isInputObjectType(type)) inputFields += Object.keys(type.getFields()).length;
  }
  return new Map([
    ['__Schema.types', types.length],
    ['__Schema.directives', directives.length],
    ['__Type.fields', average(fields, types.length)],
    ['__Type.interfaces', average(interfaces, types.length)],
    ['__Type.possibleTypes', average(possibleTypes, types.length)],
    ['__Type.enumValues', average(enumValues, types.length)],
    ['__Type.inputFields', average(inputFields, types.length)],
    ['__Field.args', average(args, fields)],
    ['__Directive.args', average(directives.reduce((n, d) => n + d.args.length, 0), directives.length)],
    ['__Directive.locations', average(directives.reduce((n, d) => n + d.locations.length, 0), directives.length)],
  ]);
}

/** The size of an introspection list field (`__Type.fields`), or undefined for any other field. */
export function introspectionListSize(schema: GraphQLSchema, coordinate: string): number | undefined {
  let sizes = measured.get(schema);
  if (!sizes) measured.set(schema, (sizes = measure(schema)));
  return sizes.get(coordinate);
}
